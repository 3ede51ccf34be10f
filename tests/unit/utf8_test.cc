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

}  // namespace
}  // namespace mosdat
