#include "core/utf8.h"

#include <gtest/gtest.h>

namespace mosdat {
namespace {

TEST(Utf8Test, KeepsValidTextAndReplacesEveryInvalidByte) {
  EXPECT_EQ(ValidUtf8("héllo wörld € 𝄞"), "héllo wörld € 𝄞");
  EXPECT_EQ(ValidUtf8("bad \xff\xfe bytes"), "bad \uFFFD\uFFFD bytes");
  EXPECT_EQ(ValidUtf8("cut \xe2\x82"), "cut \uFFFD\uFFFD");              // truncated €
  EXPECT_EQ(ValidUtf8("\xc0\xaf"), "\uFFFD\uFFFD");                      // overlong '/'
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "\uFFFD\uFFFD\uFFFD");            // a surrogate
  EXPECT_EQ(ValidUtf8("\xf4\x90\x80\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  EXPECT_EQ(ValidUtf8(std::string("nul\0ok", 6)), std::string("nul\0ok", 6));
}

TEST(Utf8Test, PrefixesEndOnACharacterBoundary) {
  EXPECT_EQ(Utf8Prefix("abc", 10), "abc");
  EXPECT_EQ(Utf8Prefix("héllo", 2), "h");  // é is two bytes
  EXPECT_EQ(Utf8Prefix("héllo", 3), "hé");
  EXPECT_EQ(Utf8Prefix("€", 2), "");
}

TEST(Utf8Test, TextIsShortenedByCharactersWithOneEllipsis) {
  EXPECT_EQ(ShortenText("short", 10), "short");
  EXPECT_EQ(ShortenText("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(ShortenText("abcdefghijk", 10), "abcdefghi\u2026");
  // Characters, not bytes: ten CJK characters fit ten.
  EXPECT_EQ(ShortenText("一二三四五六七八九十", 10), "一二三四五六七八九十");
  EXPECT_EQ(ShortenText("一二三四五六七八九十百", 10), "一二三四五六七八九\u2026");
  // Shortening a shortened text again never stacks ellipses.
  std::string once = ShortenText(std::string(100, 'x'), 60);
  EXPECT_EQ(Utf8Length(once), 60u);
  std::string twice = ShortenText("type \"" + once + "\"", 40);
  EXPECT_EQ(Utf8Length(twice), 40u);
  EXPECT_EQ(twice.find("\u2026"), twice.rfind("\u2026"));
  EXPECT_EQ(ShortenText("abcdefgh\u2026\u2026\u2026xyz", 10), "abcdefgh\u2026");
}

}  // namespace
}  // namespace mosdat
