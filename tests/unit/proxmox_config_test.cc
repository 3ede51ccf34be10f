// Tests for the Proxmox side of the config: named hosts and what they inherit from
// [proxmox], the trust, GPU, network and console keys, the [[vm]] keys only a proxmox
// VM reads, and the exact diagnostic (file:line:column) for each kind of mistake.
#include <string>
#include <vector>

#include "core/config.h"
#include "core/config_parser.h"
#include "core/diagnostics.h"
#include "gtest/gtest.h"

namespace mosdat {
namespace {

// Errors, then warnings prefixed "warning: ", one per line.
std::string Diags(std::string_view text, std::string_view file = "bad.toml") {
  Diagnostics diagnostics;
  ParseConfig(text, file, &diagnostics);
  std::string out;
  for (const Diagnostic& d : diagnostics.items()) {
    if (!out.empty()) out += "\n";
    out += d.ToString();
  }
  for (const Diagnostic& d : diagnostics.warnings()) {
    if (!out.empty()) out += "\n";
    out += "warning: " + d.ToString();
  }
  return out;
}

Config ParseOk(std::string_view text, std::string_view file = "dir/ok.toml") {
  Diagnostics diagnostics;
  Config config = ParseConfig(text, file, &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  EXPECT_TRUE(diagnostics.warnings().empty()) << diagnostics.warnings().front().ToString();
  return config;
}

constexpr std::string_view kApp = "[app]\nname = \"x\"\n";  // lines 1-2
std::string WithApp(std::string_view rest) { return std::string(kApp) + std::string(rest); }

// [proxmox] on lines 3-7.
const std::string kProxmox =
    "[proxmox]\nhost = \"pve\"\nuser = \"root@pam!m\"\ntoken = \"env:T\"\nnode = \"pve\"\n";
const std::string kFingerprint =
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:"
    "88:99";

// Shared keys (lines 3-6), then two named hosts: "a" on lines 7-9, "b" on lines 10-13.
const std::string kTwoHosts =
    "[proxmox]\nuser = \"ci@pve!m\"\ntoken = \"env:T\"\nfingerprint = \"" + kFingerprint +
    "\"\n"
    "[proxmox.hosts.a]\nhost = \"pve-a\"\nnode = \"na\"\n"
    "[proxmox.hosts.b]\nhost = \"pve-b\"\nnode = \"nb\"\nport = 8443\n";

TEST(ProxmoxConfigTest, NamedHostsInheritFromProxmoxInFileOrder) {
  // "z" comes first in the file; toml++ would iterate "a" first.
  Diagnostics diagnostics;
  Config config = ParseConfig(
      WithApp("[proxmox]\nuser = \"ci@pve!m\"\ntoken = \"file:pve.token\"\nca_file = \"ca.pem\"\n"
              "subnets = [\"10.0.0.0/8\"]\ngpu_mapping = \"gpu0\"\n"
              "[proxmox.hosts.z]\nhost = \"pve-z\"\nnode = \"nz\"\nconsole = \"direct\"\n"
              "[proxmox.hosts.a]\nhost = \"pve-a\"\nnode = \"na\"\nport = 8443\n"
              "subnets = [\"192.168.13.0/24\"]\nuser = \"other@pve!t\"\n"),
      "dir/ok.toml", &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
  // "direct" is read, and said to be not honoured yet.
  ASSERT_EQ(diagnostics.warnings().size(), 1u);
  EXPECT_NE(diagnostics.warnings()[0].ToString().find(
                "dir/ok.toml:12:11: proxmox.hosts.z.console: \"direct\" (the agent at the node's "
                "VNC port) is not honoured yet"),
            std::string::npos)
      << diagnostics.warnings()[0].ToString();
  EXPECT_FALSE(config.proxmox.has_value());  // [proxmox] has no host: shared keys only
  ASSERT_EQ(config.proxmox_hosts.size(), 2u);
  const ProxmoxConfig& z = config.proxmox_hosts[0];
  EXPECT_EQ(z.name, "z");
  EXPECT_EQ(z.host, "pve-z");
  EXPECT_EQ(z.node, "nz");
  EXPECT_EQ(z.port, 8006);
  EXPECT_EQ(z.user, "ci@pve!m");
  EXPECT_EQ(z.token.ToString(), "file:dir/pve.token");
  EXPECT_EQ(z.ca_file, "dir/ca.pem");
  EXPECT_EQ(z.subnets, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(z.gpu_mapping, "gpu0");
  EXPECT_EQ(z.console, "direct");
  const ProxmoxConfig& a = config.proxmox_hosts[1];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.port, 8443);
  EXPECT_EQ(a.user, "other@pve!t");
  EXPECT_EQ(a.subnets, std::vector<std::string>{"192.168.13.0/24"});
  EXPECT_EQ(a.console, "tunnel");
  EXPECT_EQ(a.ca_file, "dir/ca.pem");
}

TEST(ProxmoxConfigTest, LoginAndTrustAreInheritedAsPairs) {
  Config config = ParseOk(WithApp(
      "[proxmox]\nhost = \"pve\"\nnode = \"n\"\nuser = \"root@pam\"\n"
      "password = \"env:P\"\nfingerprint = \"" +
      kFingerprint +
      "\"\n"
      "[proxmox.hosts.t]\nuser = \"ci@pve!m\"\ntoken = \"env:T\"\nca_file = \"/etc/ca.pem\"\n"));
  ASSERT_TRUE(config.proxmox.has_value());
  EXPECT_EQ(config.proxmox->name, "");
  EXPECT_EQ(config.proxmox->password.ToString(), "env:P");
  ASSERT_EQ(config.proxmox_hosts.size(), 1u);
  const ProxmoxConfig& t = config.proxmox_hosts[0];
  EXPECT_EQ(t.host, "pve");  // inherited: another node's view of the same API
  EXPECT_EQ(t.token.ToString(), "env:T");
  EXPECT_FALSE(t.password.is_set());  // its own token: no password inherited
  EXPECT_EQ(t.ca_file, "/etc/ca.pem");
  EXPECT_EQ(t.fingerprint, "");  // its own CA: no fingerprint inherited
}

TEST(ProxmoxConfigTest, ProxmoxHostForAVm) {
  Config config = ParseOk(
      WithApp(kProxmox + "[proxmox.hosts.a]\nhost = \"pve-a\"\n"
                         "[[vm]]\nname = \"one\"\nvmid = 100\n"
                         "[[vm]]\nname = \"two\"\nproxmox = \"a\"\nvmid = 100\n"  // per-host vmids
                         "[[vm]]\nname = \"three\"\nprovider = \"local\"\n"));
  ASSERT_EQ(config.vms.size(), 3u);
  EXPECT_EQ(config.vms[1].proxmox_host, "a");
  const ProxmoxConfig* one = ProxmoxHostFor(config, config.vms[0]);
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one, &*config.proxmox);
  const ProxmoxConfig* two = ProxmoxHostFor(config, config.vms[1]);
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->name, "a");
  EXPECT_EQ(two->host, "pve-a");
  EXPECT_EQ(two->node, "pve");  // inherited
  EXPECT_EQ(ProxmoxHostFor(config, config.vms[2]), nullptr);
  VmConfig ghost;
  ghost.proxmox_host = "nope";
  EXPECT_EQ(ProxmoxHostFor(config, ghost), nullptr);
  EXPECT_EQ(ProxmoxHostFor(Config{}, VmConfig{}), nullptr);
}

TEST(ProxmoxConfigTest, VmKeysAndDefaults) {
  Config config =
      ParseOk(WithApp(kProxmox + "gpu_mapping = \"gpu0\"\n"
                                 "[[vm]]\nname = \"a\"\nvmid = 100\n"
                                 "[[vm]]\nname = \"b\"\npve_name = \"ubuntu-2404\"\n"
                                 "snapshot = \"clean-1_x\"\nafter = \"rollback\"\ngpu = true\n"
                                 "gpu_mode = \"compute\"\nready_timeout = 120.5\n"
                                 "shutdown_timeout = 30\n"));
  const VmConfig& a = config.vms[0];
  EXPECT_EQ(a.proxmox_host, "");
  EXPECT_EQ(a.pve_name, "");
  EXPECT_EQ(a.snapshot, "");
  EXPECT_EQ(a.after, VmAfterJob::kKeep);
  EXPECT_EQ(a.gpu_mode, GpuMode::kCompute);
  EXPECT_EQ(a.ready_timeout, 300);
  EXPECT_EQ(a.shutdown_timeout, 60);
  const VmConfig& b = config.vms[1];
  EXPECT_EQ(b.vmid, 0);  // found by pve_name
  EXPECT_EQ(b.pve_name, "ubuntu-2404");
  EXPECT_EQ(b.snapshot, "clean-1_x");
  EXPECT_EQ(b.after, VmAfterJob::kRollback);
  EXPECT_EQ(b.ready_timeout, 120.5);
  EXPECT_EQ(b.shutdown_timeout, 30);
  EXPECT_EQ(config.proxmox->console, "tunnel");
  EXPECT_TRUE(config.proxmox->subnets.empty());
}

// Without vmid, a VM is looked up by pve_name, else by its name.
TEST(ProxmoxConfigTest, VmidLessLookup) {
  Config config = ParseOk(WithApp(kProxmox + "[[vm]]\nname = \"fedora-40\"\n"
                                             "[[vm]]\nname = \"u\"\npve_name = \"ubuntu\"\n"));
  EXPECT_EQ(config.vms[0].vmid, 0);
  EXPECT_EQ(config.vms[0].pve_name, "");
  EXPECT_EQ(config.vms[1].pve_name, "ubuntu");

  EXPECT_EQ(Diags(WithApp(kProxmox + "[[vm]]\nname = \"my_vm\"\n")),
            "bad.toml:9:8: vm[0].name: VM \"my_vm\" has no vmid, so it is looked up in Proxmox "
            "by name, and Proxmox VM names hold only letters, digits, \"-\" and \".\": set vmid, "
            "or pve_name = the VM's name in Proxmox");
  EXPECT_EQ(Diags(WithApp(kProxmox + "[[vm]]\nname = \"a\"\npve_name = \"u\"\n"
                                     "[[vm]]\nname = \"b\"\npve_name = \"u\"\n")),
            "bad.toml:13:12: vm[1].pve_name: VM \"b\" is looked up by the Proxmox name \"u\", as "
            "VM \"a\" is (line 10); give one of them a vmid or another pve_name");
  // Each host has its own names and vmids.
  ParseOk(WithApp(kTwoHosts + "[[vm]]\nname = \"x\"\nproxmox = \"a\"\npve_name = \"u\"\n"
                              "[[vm]]\nname = \"y\"\nproxmox = \"b\"\npve_name = \"u\"\n"));
  EXPECT_EQ(Diags(WithApp(kTwoHosts + "[[vm]]\nname = \"x\"\nproxmox = \"a\"\nvmid = 100\n"
                                      "[[vm]]\nname = \"y\"\nproxmox = \"a\"\nvmid = 100\n")),
            "bad.toml:21:8: vm[1].vmid: duplicate vmid 100 on host \"a\" (first used by VM \"x\" "
            "at line 17)");
}

TEST(ProxmoxConfigTest, EnumSpellingsRoundTrip) {
  for (const char* name : {"keep", "shutdown", "rollback"}) {
    Config c = ParseOk(
        WithApp(kProxmox + "[[vm]]\nname = \"a\"\nsnapshot = \"s1\"\nafter = \"" + name + "\"\n"));
    EXPECT_EQ(ToString(c.vms[0].after), name);
  }
  for (const char* name : {"compute", "primary"}) {
    Diagnostics diagnostics;
    Config c = ParseConfig(WithApp(kProxmox +
                                   "gpu_mapping = \"g0\"\n[[vm]]\nname = \"a\"\n"
                                   "gpu = true\ngpu_mode = \"" +
                                   name + "\"\n"),
                           "ok.toml", &diagnostics);
    EXPECT_TRUE(diagnostics.empty()) << diagnostics.ToStatus();
    EXPECT_EQ(ToString(c.vms[0].gpu_mode), name);
  }
}

TEST(ProxmoxConfigTest, UnknownHostSuggestsTheClosest) {
  EXPECT_EQ(Diags(WithApp(kTwoHosts + "[proxmox.hosts.pve-main]\nhost = \"m\"\nnode = \"m\"\n"
                                      "[[vm]]\nname = \"v\"\nproxmox = \"pve-mian\"\n")),
            "bad.toml:19:11: vm[0].proxmox: unknown Proxmox host \"pve-mian\" (did you mean "
            "\"pve-main\"?)");
  EXPECT_EQ(Diags(WithApp(kTwoHosts + "[[vm]]\nname = \"v\"\nproxmox = \"zzz\"\n")),
            "bad.toml:16:11: vm[0].proxmox: unknown Proxmox host \"zzz\" (the hosts are \"a\" "
            "and \"b\")");
  EXPECT_EQ(Diags(WithApp(kProxmox + "[[vm]]\nname = \"v\"\nproxmox = \"a\"\n")),
            "bad.toml:10:11: vm[0].proxmox: unknown Proxmox host \"a\" (no "
            "[proxmox.hosts.NAME] is defined)");
  // Only named hosts: a VM must name one.
  EXPECT_EQ(Diags(WithApp(kTwoHosts + "[[vm]]\nname = \"v\"\nvmid = 100\n")),
            "bad.toml:14:1: vm[0].provider: provider \"proxmox\" needs a host, and [proxmox] has "
            "no \"host\": name one of the [proxmox.hosts.NAME] with proxmox = \"a\" (the hosts: "
            "\"a\", \"b\")");
}

TEST(ProxmoxConfigTest, HostErrorsNameTheHost) {
  // A host missing what [proxmox] does not share either; [proxmox] itself needs nothing.
  EXPECT_EQ(Diags(WithApp("[proxmox]\nuser = \"ci@pve!m\"\ntoken = \"env:T\"\n"
                          "[proxmox.hosts.a]\nhost = \"pve-a\"\n")),
            "bad.toml:6:1: proxmox.hosts.a.node: required key is missing");
  EXPECT_EQ(Diags(WithApp("[proxmox]\nnode = \"n\"\n[proxmox.hosts.\"a b\"]\nhost = \"h\"\n")),
            "bad.toml:5:16: proxmox.hosts.\"a b\": a host name must contain only letters, digits, "
            "\"_\", \".\" and \"-\"");
  // An inherited mistake is reported once, where it is written.
  EXPECT_EQ(Diags(WithApp("[proxmox]\nuser = \"ci@pve!m\"\ntoken = \"env:T\"\nport = 0\n"
                          "[proxmox.hosts.a]\nhost = \"a\"\nnode = \"n\"\n"
                          "[proxmox.hosts.b]\nhost = \"b\"\nnode = \"n\"\n")),
            "bad.toml:6:8: proxmox.port: must be between 1 and 65535");
  // A key the host sets, checked with one it inherits.
  EXPECT_EQ(Diags(WithApp("[proxmox]\nuser = \"ci@pve!m\"\ntoken = \"env:T\"\n"
                          "[proxmox.hosts.a]\nhost = \"a\"\nnode = \"n\"\n"
                          "password = \"env:P\"\nfingerprint = \"" +
                          kFingerprint + "\"\n")),
            "bad.toml:4:8: proxmox.user: a password logs in as USER@REALM, e.g. \"root@pam\"; "
            "USER@REALM!TOKENID is an API token id: write token = \"env:PVE_TOKEN\" instead of "
            "the password (in [proxmox.hosts.a], which inherits user)");
  EXPECT_EQ(Diags(WithApp(kProxmox + "[proxmox.hosts.a]\nhots = \"x\"\n")),
            "bad.toml:9:1: proxmox.hosts.a.hots: unknown key (did you mean \"host\"?)");
  EXPECT_EQ(Diags(WithApp(kProxmox + "[proxmox.hosts.a.hosts.b]\nhost = \"x\"\n")),
            "bad.toml:8:1: proxmox.hosts.a.hosts: named hosts are listed in [proxmox] only "
            "([proxmox.hosts.NAME]), not inside another host");
}

TEST(ProxmoxConfigTest, TrustSubnetsConsoleAndMappingErrors) {
  EXPECT_EQ(
      Diags(WithApp(kProxmox + "fingerprint = \"" + kFingerprint + "\"\nca_file = \"ca.pem\"\n")),
      "bad.toml:9:11: proxmox.ca_file: \"ca_file\" (a CA bundle the certificate is "
      "verified against) and \"fingerprint\" (one pinned certificate) are two ways to "
      "trust the server; keep one");
  EXPECT_EQ(Diags(WithApp(kProxmox + "subnets = [\"192.168.13.0/24\", \"10.0.0/8\", "
                                     "\"192.168.1.7/24\", \"1.2.3.4/33\", \"01.2.3.4/8\"]\n")),
            "bad.toml:8:31: proxmox.subnets[1]: must be an IPv4 network in CIDR form, e.g. "
            "\"192.168.13.0/24\"\n"
            "bad.toml:8:43: proxmox.subnets[2]: has host bits set; the network is "
            "\"192.168.1.0/24\"\n"
            "bad.toml:8:61: proxmox.subnets[3]: must be an IPv4 network in CIDR form, e.g. "
            "\"192.168.13.0/24\"\n"
            "bad.toml:8:75: proxmox.subnets[4]: must be an IPv4 network in CIDR form, e.g. "
            "\"192.168.13.0/24\"");
  EXPECT_EQ(Diags(WithApp(kProxmox + "subnets = \"10.0.0.0/8\"\n")),
            "bad.toml:8:11: proxmox.subnets: expected an array of strings, got string");
  ParseOk(WithApp(kProxmox + "subnets = [\"0.0.0.0/0\", \"10.1.2.3/32\"]\n"));
  EXPECT_EQ(Diags(WithApp(kProxmox + "console = \"spice\"\n")),
            "bad.toml:8:11: proxmox.console: must be one of \"tunnel\", \"direct\"");
  EXPECT_EQ(Diags(WithApp(kProxmox + "gpu_mapping = \"1gpu\"\n")),
            "bad.toml:8:15: proxmox.gpu_mapping: must be the id of a PVE PCI resource mapping "
            "(Datacenter > Resource Mappings): a letter, then letters, digits, \"_\" and \"-\"");
}

TEST(ProxmoxConfigTest, GpuThroughATokenNeedsAMapping) {
  EXPECT_EQ(Diags(WithApp(kProxmox + "gpu_pci_address = \"0000:01:00\"\n"
                                     "[[vm]]\nname = \"a\"\nvmid = 100\ngpu = true\n")),
            "bad.toml:12:7: vm[0].gpu: GPU passthrough with gpu_pci_address needs root@pam: "
            "Proxmox lets only root@pam itself pass a raw PCI device (hostpci host=0000:01:00), "
            "and an API token, even one of root@pam's, is not root@pam; map the GPU in "
            "Datacenter > Resource Mappings > PCI Devices and write gpu_mapping = \"NAME\" in "
            "[proxmox] (it replaces gpu_pci_address)");
  // Without a VM that uses the GPU, nothing needs the mapping.
  ParseOk(WithApp(kProxmox + "gpu_pci_address = \"0000:01:00\"\n[[vm]]\nname = \"a\"\n"));
  // With the mapping, or as root@pam, the GPU can be passed.
  ParseOk(WithApp(kProxmox + "gpu_pci_address = \"0000:01:00\"\ngpu_mapping = \"g0\"\n"
                             "[[vm]]\nname = \"a\"\ngpu = true\n"));
  ParseOk(WithApp(
      "[proxmox]\nhost = \"h\"\nuser = \"root@pam\"\npassword = \"env:P\"\n"
      "node = \"n\"\nfingerprint = \"" +
      kFingerprint + "\"\ngpu_pci_address = \"0000:01:00\"\n[[vm]]\nname = \"a\"\ngpu = true\n"));
  // A named host says which table to fix.
  EXPECT_EQ(Diags(WithApp(kTwoHosts + "[[vm]]\nname = \"v\"\nproxmox = \"b\"\ngpu = true\n")),
            "bad.toml:17:7: vm[0].gpu: GPU passthrough needs [proxmox.hosts.b] gpu_mapping (a "
            "PVE PCI resource mapping) or gpu_pci_address");
}

TEST(ProxmoxConfigTest, VmKeyErrors) {
  const std::string vm = kProxmox + "[[vm]]\nname = \"a\"\n";  // the VM's keys from line 10
  EXPECT_EQ(Diags(WithApp(vm + "snapshot = \"1clean\"\n")),
            "bad.toml:10:12: vm[0].snapshot: must be a Proxmox snapshot name: a letter, then "
            "letters, digits, \"_\" and \"-\", 2 to 40 characters in all");
  EXPECT_EQ(Diags(WithApp(vm + "snapshot = \"" + std::string(41, 's') + "\"\n")),
            "bad.toml:10:12: vm[0].snapshot: must be a Proxmox snapshot name: a letter, then "
            "letters, digits, \"_\" and \"-\", 2 to 40 characters in all");
  ParseOk(WithApp(vm + "snapshot = \"" + std::string(40, 's') + "\"\n"));
  EXPECT_EQ(Diags(WithApp(vm + "after = \"rollback\"\n")),
            "bad.toml:10:9: vm[0].after: after = \"rollback\" needs snapshot = \"NAME\" (the "
            "snapshot to roll back to)");
  EXPECT_EQ(Diags(WithApp(vm + "after = \"destroy\"\n")),
            "bad.toml:10:9: vm[0].after: must be one of \"keep\", \"shutdown\", \"rollback\"");
  EXPECT_EQ(Diags(WithApp(vm + "ready_timeout = 0\n")),
            "bad.toml:10:17: vm[0].ready_timeout: must be greater than 0 and at most 86400");
  EXPECT_EQ(Diags(WithApp(vm + "shutdown_timeout = \"60\"\n")),
            "bad.toml:10:20: vm[0].shutdown_timeout: expected a number, got string");
  EXPECT_EQ(Diags(WithApp(vm + "pve_name = \"my vm\"\n")),
            "bad.toml:10:12: vm[0].pve_name: must be a VM name Proxmox accepts: letters, digits "
            "and \"-\" (not first or last), in labels separated by \".\"");
  EXPECT_EQ(Diags(WithApp(vm + "gpu_mode = \"vga\"\n")),
            "bad.toml:10:12: vm[0].gpu_mode: must be one of \"compute\", \"primary\"");
}

TEST(ProxmoxConfigTest, Warnings) {
  EXPECT_EQ(Diags(WithApp(kProxmox + "gpu_mapping = \"g0\"\n[[vm]]\nname = \"a\"\ngpu = true\n"
                                     "gpu_mode = \"primary\"\n")),
            "warning: bad.toml:12:12: vm[0].gpu_mode: gpu_mode = \"primary\" makes the GPU the "
            "VM's display (x-vga=1), which leaves the VNC console blank: steps that capture or "
            "act on the screen (screenshots, localize, click, visual, verify) cannot work; keep "
            "gpu_mode = \"compute\" for tests that use the screen");
  EXPECT_EQ(Diags(WithApp(kProxmox + "[[vm]]\nname = \"a\"\ngpu_mode = \"compute\"\n")),
            "warning: bad.toml:10:12: vm[0].gpu_mode: [[vm]] gpu_mode has no effect without gpu "
            "= true; it is ignored");
  EXPECT_EQ(Diags(WithApp("[[vm]]\nname = \"a\"\nprovider = \"local\"\nsnapshot = \"clean\"\n"
                          "after = \"shutdown\"\nready_timeout = 10\n")),
            "warning: bad.toml:3:1: vm[0]: [[vm]] snapshot, after and ready_timeout are read but "
            "VM \"a\" is a local VM (provider = \"local\"), which has no use for them; they are "
            "ignored");
  EXPECT_EQ(Diags(WithApp("[[vm]]\nname = \"a\"\nprovider = \"local\"\nproxmox = \"h\"\n")),
            "warning: bad.toml:3:1: vm[0]: [[vm]] proxmox is read but VM \"a\" is a local VM "
            "(provider = \"local\"), which has no use for it; it is ignored");
  // A password login without a pinned certificate names the host to pin it in.
  EXPECT_EQ(Diags(WithApp("[proxmox]\nuser = \"root@pam\"\npassword = \"env:P\"\n"
                          "[proxmox.hosts.a]\nhost = \"a\"\nnode = \"n\"\n")),
            "warning: bad.toml:6:1: proxmox.hosts.a.fingerprint: the original mOSdat never "
            "checked the Proxmox server's certificate; mOSdat always does, against this "
            "machine's CAs, so a self-signed certificate (Proxmox's default) is refused: pin it "
            "in [proxmox.hosts.a] with fingerprint = \"AA:BB:...\" (print it with: openssl "
            "s_client -connect a:8006 </dev/null | openssl x509 -noout -fingerprint -sha256)");
  // A CA bundle is trust enough.
  ParseOk(
      WithApp("[proxmox]\nhost = \"h\"\nuser = \"root@pam\"\npassword = \"env:P\"\n"
              "node = \"n\"\nca_file = \"ca.pem\"\n"));
}

}  // namespace
}  // namespace mosdat
