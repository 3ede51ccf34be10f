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

}  // namespace
}  // namespace mosdat
