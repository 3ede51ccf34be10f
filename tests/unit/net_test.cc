// host:port text, both ways (core/net.h).
#include "core/net.h"

#include "gtest/gtest.h"

namespace mosdat {
namespace {

TEST(HostPortTest, IPv6AddressesKeepTheirColonsAndLoseTheirBrackets) {
  EXPECT_EQ(JoinHostPort("192.0.2.2", 22), "192.0.2.2:22");
  EXPECT_EQ(JoinHostPort("2001:db8::5", 22), "[2001:db8::5]:22");
  absl::StatusOr<std::pair<std::string, int>> v6 = ParseHostPort("[2001:db8::5]:2222");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->first, "2001:db8::5");
  EXPECT_EQ(v6->second, 2222);
  absl::StatusOr<std::pair<std::string, int>> v4 = ParseHostPort(JoinHostPort("10.0.0.5", 22));
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->first, "10.0.0.5");
  EXPECT_FALSE(ParseHostPort("no-port").ok());
  EXPECT_FALSE(ParseHostPort(":22").ok());
  EXPECT_FALSE(ParseHostPort("host:70000").ok());
}

TEST(LoopbackHostTest, OnlyTheLoopbackRangeAndLocalhostAreLoopback) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"0.0.0.0", "::", "[::]", "", "192.0.2.7", "128.0.0.1", "10.0.0.1", "2001:db8::1",
        "::ffff:192.0.2.7", "example.org", "localhost.example", "127.0.0.1.example"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace mosdat
