// Tests for core/template_vars: value typing, `{{ name }}` substitution, resolution of
// variables that refer to each other, and typo suggestions.
#include "core/template_vars.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mosdat {
namespace {

TEST(TemplateValueTest, PlainScalarsAreTypedLikeYamlCore) {
  EXPECT_TRUE(ValueFromPlainScalar("").is_null());
  EXPECT_TRUE(ValueFromPlainScalar("~").is_null());
  EXPECT_TRUE(ValueFromPlainScalar("null").is_null());
  EXPECT_EQ(ValueFromPlainScalar("true"), Value(true));
  EXPECT_EQ(ValueFromPlainScalar("False"), Value(false));
  EXPECT_EQ(ValueFromPlainScalar("42"), Value(42));
  EXPECT_EQ(ValueFromPlainScalar("-7"), Value(-7));
  EXPECT_EQ(ValueFromPlainScalar("1.5"), Value(1.5));
  EXPECT_EQ(ValueFromPlainScalar("2e3"), Value(2000.0));
  // Not YAML 1.2 core numbers or bools: stay strings.
  EXPECT_EQ(ValueFromPlainScalar("yes"), Value("yes"));
  EXPECT_EQ(ValueFromPlainScalar("inf"), Value("inf"));
  EXPECT_EQ(ValueFromPlainScalar("nan"), Value("nan"));
  EXPECT_EQ(ValueFromPlainScalar("0x10"), Value("0x10"));
  EXPECT_EQ(ValueFromPlainScalar("1.2.3"), Value("1.2.3"));
  EXPECT_EQ(ValueFromPlainScalar("99999999999999999999"), Value(1e20));
}

TEST(TemplateValueTest, ToStringAndTypeName) {
  EXPECT_EQ(Value().ToString(), "");
  EXPECT_EQ(Value(true).ToString(), "true");
  EXPECT_EQ(Value(12).ToString(), "12");
  EXPECT_EQ(Value(0.25).ToString(), "0.25");
  EXPECT_EQ(Value(2.0).ToString(), "2.0");
  EXPECT_EQ(Value("x").ToString(), "x");
  EXPECT_EQ(Value(Value::List{Value("a"), Value(1)}).ToString(), "[a, 1]");
  EXPECT_EQ(Value().type_name(), "null");
  EXPECT_EQ(Value(1.0).type_name(), "float");
  EXPECT_EQ(Value(Value::List{}).type_name(), "list");
}

TEST(TemplateVarNameTest, Validity) {
  EXPECT_TRUE(IsValidVarName("app"));
  EXPECT_TRUE(IsValidVarName("app.binary"));
  EXPECT_TRUE(IsValidVarName("_x.y-z.w2"));
  EXPECT_FALSE(IsValidVarName(""));
  EXPECT_FALSE(IsValidVarName("1app"));
  EXPECT_FALSE(IsValidVarName("app."));
  EXPECT_FALSE(IsValidVarName(".app"));
  EXPECT_FALSE(IsValidVarName("a..b"));
  EXPECT_FALSE(IsValidVarName("a b"));
}

class TemplateSubstituteTest : public ::testing::Test {
 protected:
  VarMap vars_ = {
      {"n", Value(5)},
      {"ratio", Value(0.5)},
      {"flag", Value(true)},
      {"nothing", Value()},
      {"name", Value("calc")},
      {"app.binary", Value("/usr/bin/gnome-calculator")},
      {"states", Value(Value::List{Value("checked"), Value("focused")})},
  };
};

TEST_F(TemplateSubstituteTest, WholeReferenceKeepsType) {
  EXPECT_EQ(*Substitute("{{ n }}", vars_), Value(5));
  EXPECT_EQ(*Substitute("{{n}}", vars_), Value(5));
  EXPECT_EQ(*Substitute("{{   ratio\t}}", vars_), Value(0.5));
  EXPECT_EQ(*Substitute("{{ flag }}", vars_), Value(true));
  EXPECT_TRUE(Substitute("{{ nothing }}", vars_)->is_null());
  EXPECT_EQ(*Substitute("{{ states }}", vars_), vars_["states"]);
  EXPECT_EQ(*Substitute("{{ app.binary }}", vars_), Value("/usr/bin/gnome-calculator"));
}

TEST_F(TemplateSubstituteTest, InterpolationMakesAString) {
  EXPECT_EQ(*Substitute("n={{ n }}", vars_), Value("n=5"));
  EXPECT_EQ(*Substitute(" {{ n }}", vars_), Value(" 5"));
  EXPECT_EQ(*Substitute("{{ n }}{{ n }}", vars_), Value("55"));
  EXPECT_EQ(*Substitute("{{ name }} at {{ ratio }}, {{ flag }}[{{ nothing }}]", vars_),
            Value("calc at 0.5, true[]"));
  EXPECT_EQ(*Substitute("{{ app.binary }} --version", vars_),
            Value("/usr/bin/gnome-calculator --version"));
  EXPECT_EQ(*Substitute("no templates }} here", vars_), Value("no templates }} here"));
  EXPECT_EQ(*Substitute("héllo {{ name }} ✓", vars_), Value("héllo calc ✓"));
}

TEST_F(TemplateSubstituteTest, Errors) {
  auto error = [&](std::string_view text) {
    absl::StatusOr<Value> v = Substitute(text, vars_);
    EXPECT_FALSE(v.ok()) << text;
    return std::string(v.status().message());
  };
  EXPECT_EQ(error("{{ nme }}"),
            "undefined variable \"nme\" (did you mean \"name\"?); defined: app.binary, flag, n, "
            "name, nothing, ratio, states");
  EXPECT_EQ(error("x {{ zzz }}"),
            "undefined variable \"zzz\"; defined: app.binary, flag, n, name, nothing, ratio, "
            "states");
  EXPECT_EQ(error("{{ name"), "unterminated \"{{\" at offset 0 (missing \"}}\")");
  EXPECT_EQ(error("a }} {{ b"), "unterminated \"{{\" at offset 5 (missing \"}}\")");
  EXPECT_EQ(error("{{ }}"), "empty \"{{ }}\": write a variable name inside the braces");
  EXPECT_EQ(error("{{ a b }}"),
            "invalid variable name \"a b\" (names are letters, digits, \"_\" and \"-\", with "
            "\".\" between parts)");
  EXPECT_EQ(error("{{ states }} x"),
            "variable \"states\" is a list and cannot be part of a longer string (write {{ "
            "states | tojson }} for its JSON)");
  absl::StatusOr<Value> none = Substitute("{{ x }}", VarMap{});
  EXPECT_EQ(none.status().message(), "undefined variable \"x\"; no variables are defined");
}

TEST(TemplateSubstituteLimitTest, LongResultIsAnError) {
  VarMap vars = {{"big", Value(std::string(kMaxSubstitutedLength / 2 + 1, 'x'))}};
  EXPECT_TRUE(Substitute("{{ big }}", vars).ok());  // a whole reference copies the value
  absl::StatusOr<Value> v = Substitute("{{ big }}{{ big }}", vars);
  EXPECT_EQ(v.status().message(), "substituted text is longer than 65536 bytes");
}

TEST(TemplateSubstituteLimitTest, UndefinedListIsTruncated) {
  VarMap vars;
  for (int i = 0; i < 25; ++i) vars[absl::StrCat("v", 10 + i)] = Value(i);
  absl::StatusOr<Value> v = Substitute("{{ zzzz }}", vars);
  EXPECT_EQ(v.status().message(),
            "undefined variable \"zzzz\"; defined: v10, v11, v12, v13, v14, v15, v16, v17, v18, "
            "v19, v20, v21, v22, v23, v24, v25, v26, v27, v28, v29, ...");
}

TEST(TemplateNamesTest, ListsReferences) {
  EXPECT_EQ(*TemplateNames("{{a}} and {{ b.c }} and {{a}}"),
            (std::vector<std::string>{"a", "b.c", "a"}));
  EXPECT_TRUE(TemplateNames("plain")->empty());
  EXPECT_FALSE(TemplateNames("{{").ok());
  EXPECT_TRUE(HasTemplate("x{{"));
  EXPECT_FALSE(HasTemplate("x{ {"));
}

using Errors = std::vector<std::pair<std::string, std::string>>;

Errors Resolve(VarMap& vars, const std::set<std::string>& literal = {}) {
  Errors errors;
  ResolveVars(vars, literal, [&](const std::string& name, const absl::Status& s) {
    errors.emplace_back(name, std::string(s.message()));
  });
  return errors;
}

TEST(TemplateResolveTest, VariablesReferToEachOtherInAnyOrder) {
  VarMap vars = {
      {"a", Value("{{ b }}/bin")},
      {"b", Value("{{ c }}")},
      {"c", Value("/opt")},
      {"n", Value("{{ m }}")},
      {"m", Value(3)},
      {"l", Value(Value::List{Value("{{ m }}"), Value("x{{ c }}")})},
  };
  EXPECT_TRUE(Resolve(vars).empty());
  EXPECT_EQ(vars["a"], Value("/opt/bin"));
  EXPECT_EQ(vars["b"], Value("/opt"));
  EXPECT_EQ(vars["n"], Value(3));
  EXPECT_EQ(vars["l"], Value(Value::List{Value(3), Value("x/opt")}));
}

TEST(TemplateResolveTest, LiteralValuesAreNotSubstituted) {
  VarMap vars = {{"cmd", Value("echo {{ not_a_var }}")}, {"x", Value("{{ cmd }}")}};
  EXPECT_TRUE(Resolve(vars, {"cmd"}).empty());
  EXPECT_EQ(vars["x"], Value("echo {{ not_a_var }}"));
}

TEST(TemplateResolveTest, CyclesAndUndefinedAreReportedOnce) {
  VarMap vars = {
      {"a", Value("{{ b }}")},      {"b", Value("x{{ a }}")},     {"self", Value("{{ self }}!")},
      {"uses_a", Value("{{ a }}")}, {"bad", Value("{{ nope }}")}, {"uses_bad", Value("{{ bad }}")},
      {"broken", Value("{{ x")},
  };
  Errors errors = Resolve(vars);
  EXPECT_EQ(errors, (Errors{
                        {"broken", "unterminated \"{{\" at offset 0 (missing \"}}\")"},
                        {"bad",
                         "undefined variable \"nope\"; defined: a, b, bad, broken, self, uses_a, "
                         "uses_bad"},
                        {"self", "variable \"self\" refers to itself"},
                        {"a", "variables refer to each other in a cycle: a -> b -> a"},
                        {"b", "variables refer to each other in a cycle: b -> a -> b"},
                    }));
  for (const auto& [name, value] : vars) EXPECT_TRUE(value.is_null()) << name;
}

}  // namespace
}  // namespace mosdat

namespace mosdat {
namespace {

// Jinja's tojson, as the original mOSdat's routines use it inside single-quoted shell
// strings: sorted keys, Python's separators, and \u escapes for ' < > & and non-ASCII.
TEST(TemplateToJsonTest, WritesWhatJinjasToJsonWrites) {
  Value servers(Value::List{
      Value(Value::Map{{"url", Value("https://a.example/?x=1&y=<2>")}, {"title", Value("It's é")}}),
      Value(Value::Map{{"title", Value("B")},
                       {"n", Value(int64_t{3})},
                       {"ok", Value(true)},
                       {"none", Value()},
                       {"f", Value(1.5)}})});
  VarMap vars = {{"servers", servers}, {"on", Value(false)}, {"emoji", Value("😀\n\"")}};
  absl::StatusOr<Value> out = Substitute("S='{{ servers | tojson }}' T={{on|tojson}}", vars);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->as_string(),
            "S='[{\"title\": \"It\\u0027s \\u00e9\", \"url\": "
            "\"https://a.example/?x=1\\u0026y=\\u003c2\\u003e\"}, {\"f\": 1.5, \"n\": 3, "
            "\"none\": null, \"ok\": true, \"title\": \"B\"}]' T=false");
  absl::StatusOr<Value> whole = Substitute("{{ emoji | tojson }}", vars);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->as_string(), "\"\\ud83d\\ude00\\n\\\"\"");  // a string, never the raw value
  absl::StatusOr<Value> other = Substitute("{{ servers | upper }}", vars);
  EXPECT_EQ(other.status().message(),
            "\"{{ servers | upper }}\": the filter \"upper\" is not supported (only \"tojson\"); "
            "a variable is inserted as it is");
  absl::StatusOr<Value> map_in_text = Substitute("x {{ servers }}", vars);
  EXPECT_FALSE(map_in_text.ok());
}

}  // namespace
}  // namespace mosdat
