// etl/process: io:// programs, the Python code runtime, HTTP programs (hpush/hpull/hrev) and
// ws:// programs. The tests write their own small programs (sh and python3 stdlib) into a
// temporary directory.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etl/process/child_process.h"
#include "etl/process/free_port.h"
#include "etl/process/log_ring.h"
#include "etl/sandbox.h"
#include "etl/transformer.h"

namespace aisle::etl {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aisle-etl-process-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) throw std::runtime_error("mkdtemp");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& text, bool exec = false) {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    if (exec) ::chmod(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

bool Contains(const std::string& s, const std::string& sub) {
  return s.find(sub) != std::string::npos;
}

// Stderr is collected by a reader thread: give it a moment.
bool LogsContain(const Transformer& t, const std::string& sub) {
  for (int i = 0; i < 100; ++i) {
    if (Contains(t.Logs(), sub)) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// True when no process with this pid exists (it was killed and reaped).
bool Gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::vector<pid_t> ReadPids(const std::string& dir, const std::string& prefix) {
  std::vector<pid_t> pids;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::ifstream in(e.path());
    pid_t pid = 0;
    if (in >> pid && pid > 0) pids.push_back(pid);
  }
  return pids;
}

std::unique_ptr<Transformer> Make(const EtlSpec& spec) {
  auto t = MakeProcessTransformer(spec);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

SpawnOptions Opts(std::vector<std::string> argv,
                  std::vector<std::pair<std::string, std::string>> env = {}) {
  SpawnOptions o;
  o.argv = std::move(argv);
  o.env = std::move(env);
  return o;
}

TransformInput In(std::string_view data, std::string args = "", std::string object = "obj") {
  TransformInput in;
  in.data = data;
  in.bucket = "bck";
  in.object = std::move(object);
  in.args = std::move(args);
  return in;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

TEST(LogRingTest, KeepsTheTail) {
  LogRing ring(16);
  ring.Append("0123456789");
  ring.Append("abcdefghij");
  EXPECT_EQ(ring.Tail(), "456789abcdefghij");
  EXPECT_EQ(LastLinesOf("a\nb\nc\n\n", 2), "b\nc");
  EXPECT_EQ(LastLinesOf("one line", 3), "one line");
}

TEST(ChildProcessTest, ExitDescriptionAndNoZombie) {
  LogRing log;
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo to-stderr >&2; exit 2"};
  o.log = &log;
  auto c = ChildProcess::Spawn(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  pid_t pid = (*c)->pid();
  (*c)->Reap();
  EXPECT_EQ((*c)->ExitDescription(), "exited with code 2");
  EXPECT_EQ((*c)->StderrTail(milliseconds(500)), "to-stderr");
  EXPECT_TRUE(Gone(pid));
  EXPECT_TRUE(Contains(log.Tail(), "to-stderr"));

  auto k = ChildProcess::Spawn(Opts({"sleep", "30"}));
  ASSERT_TRUE(k.ok());
  pid = (*k)->pid();
  (*k)->Kill(milliseconds(2000));
  EXPECT_EQ((*k)->ExitDescription(), "killed by signal 15");
  EXPECT_TRUE(Gone(pid));

  auto missing = ChildProcess::Spawn(Opts({"/nonexistent/program"}));
  EXPECT_FALSE(missing.ok());
}

TEST(ChildProcessTest, ClosesInheritedDescriptorsAndSetsLimits) {
  // Only 0, 1, 2 (and the fd ls itself opens) are open in the child.
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "ls /proc/self/fd | wc -l; ulimit -v"};
  o.pipe_stdout = true;
  o.memory_limit = 512ull << 20;
  auto c = ChildProcess::Spawn(o);
  ASSERT_TRUE(c.ok());
  (*c)->Reap();
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read((*c)->stdout_fd(), buf, sizeof(buf))) > 0) out.append(buf, n);
  std::istringstream ss(out);
  int fds = 0;
  std::string limit;
  ss >> fds >> limit;
  EXPECT_LE(fds, 5) << out;  // 0, 1, 2, the directory fd of ls
  EXPECT_EQ(limit, std::to_string(512 * 1024)) << out;
}

// ---------------------------------------------------------------------------------------------
// The sandbox (etl/sandbox.h): needs root to switch users and create namespaces.

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    if (::poll(&pfd, 1, 10'000) <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::unique_ptr<Sandbox> MakeSandbox(EtlNetwork net = EtlNetwork::kHost) {
  SandboxConfig cfg;
  cfg.user = "64998:64998";
  cfg.network = net;
  cfg.memory_limit = 256ull << 20;
  cfg.max_procs = 64;
  auto sb = Sandbox::Create(cfg);
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  return sb.ok() ? std::move(sb).value() : nullptr;
}

TEST(SandboxTest, UserLimitsEnvironmentAndNamespaces) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto sb = MakeSandbox(EtlNetwork::kNone);
  ASSERT_TRUE(sb);
  ::setenv("AISLE_SANDBOX_UNIT_MARKER", "node-only", 1);
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c",
            "id -u; id -G; echo $$; env | grep -c AISLE_SANDBOX_UNIT_MARKER; "
            "readlink /proc/self/ns/net /proc/self/ns/pid; cat /proc/self/limits"};
  o.env = {{"MINE", "1"}};
  o.pipe_stdout = true;
  o.sandbox = sb.get();
  auto c = ChildProcess::Spawn(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string out = ReadAll((*c)->stdout_fd());
  (*c)->Reap();
  ::unsetenv("AISLE_SANDBOX_UNIT_MARKER");
  EXPECT_EQ((*c)->ExitDescription(), "exited with code 0");
  std::istringstream ss(out);
  std::string uid, groups, pid, marker, net_ns, pid_ns;
  ss >> uid >> groups >> pid >> marker >> net_ns >> pid_ns;
  EXPECT_EQ(uid, "64998") << out;
  EXPECT_EQ(groups, "64998") << out;  // no supplementary groups
  EXPECT_EQ(pid, "2") << out;         // the program under its init, in a PID namespace of its own
  EXPECT_EQ(marker, "0") << out;      // nothing of the node's environment
  EXPECT_NE(net_ns, fs::read_symlink("/proc/self/ns/net").string()) << out;
  EXPECT_NE(pid_ns, fs::read_symlink("/proc/self/ns/pid").string()) << out;
  auto limit = [&](const std::string& name) {
    size_t at = out.find(name);
    if (at == std::string::npos) return std::string("?");
    std::istringstream ls(out.substr(at + name.size()));
    std::string soft;
    ls >> soft;
    return soft;
  };
  EXPECT_EQ(limit("Max address space"), std::to_string(256 << 20)) << out;
  EXPECT_EQ(limit("Max processes"), "64") << out;
  EXPECT_EQ(limit("Max core file size"), "0") << out;
  EXPECT_EQ(limit("Max open files"), "1024") << out;
}

TEST(SandboxTest, KillTakesDoubleForkedChildren) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto sb = MakeSandbox();
  ASSERT_TRUE(sb);
  TempDir dir;
  ASSERT_TRUE(sb->PrepareWorkDir(dir.path()).ok());
  SpawnOptions o;
  // The escapee writes its pid as the host sees it... it cannot: it is in another namespace.
  // It sleeps with a marker in its command line instead, found through /proc.
  o.argv = {"/bin/sh", "-c", "setsid sh -c 'sleep 300; : unit-escape-marker' & sleep 300"};
  o.work_dir = dir.path();
  o.sandbox = sb.get();
  auto c = ChildProcess::Spawn(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto escapees = [] {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::ifstream in(e.path() / "cmdline");
      std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (Contains(cmd, "unit-escape-marker")) ++n;
    }
    return n;
  };
  auto deadline = Clock::now() + milliseconds(5000);
  while (escapees() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  ASSERT_GT(escapees(), 0);
  (*c)->Kill(milliseconds(0));
  deadline = Clock::now() + milliseconds(5000);
  while (escapees() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(escapees(), 0);
  EXPECT_EQ((*c)->ExitDescription(), "killed by signal 9");

  // Exit status through the init: a code, and a signal.
  auto e = ChildProcess::Spawn([&] {
    SpawnOptions x;
    x.argv = {"/bin/sh", "-c", "exit 7"};
    x.sandbox = sb.get();
    return x;
  }());
  ASSERT_TRUE(e.ok());
  (*e)->Reap();
  EXPECT_EQ((*e)->ExitDescription(), "exited with code 7");
  auto missing = ChildProcess::Spawn([&] {
    SpawnOptions x;
    x.argv = {"/nonexistent/program"};
    x.sandbox = sb.get();
    return x;
  }());
  EXPECT_FALSE(missing.ok());
}

TEST(SandboxTest, AdmitRefusesNetworkProtocolsAndBigLimits) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto sb = MakeSandbox(EtlNetwork::kNone);
  ASSERT_TRUE(sb);
  EtlSpec s;
  s.name = "x";
  s.comm = Comm::kHpush;
  EXPECT_EQ(sb->Admit(s).code(), StatusCode::kInvalidArgument);
  s.comm = Comm::kIo;
  EXPECT_TRUE(sb->Admit(s).ok());
  s.memory_limit = 1ull << 30;
  EXPECT_EQ(sb->Admit(s).code(), StatusCode::kInvalidArgument);
  s.memory_limit = 0;
  EXPECT_EQ(sb->MemoryLimitFor(s), 256ull << 20);
  for (const char* user : {"0:0", "no-such-user-here"}) {  // never root; a real user
    SandboxConfig bad;
    bad.user = user;
    EXPECT_FALSE(Sandbox::Create(bad).ok()) << user;
  }
}

// ---------------------------------------------------------------------------------------------
// io://

EtlSpec IoSpec(const std::string& name, std::vector<std::string> cmd) {
  EtlSpec s;
  s.name = name;
  s.comm = Comm::kIo;
  s.command = std::move(cmd);
  s.concurrency = 2;
  return s;
}

TEST(IoTest, UpperCaseAndEnvironment) {
  auto t = Make(IoSpec("io-upper", {"tr", "a-z", "A-Z"}));
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->Start().ok());
  auto r = t->Transform(In("hello world"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "HELLO WORLD");

  // Large input and output at once: no pipe deadlock.
  std::string big(8 << 20, 'x');
  r = t->Transform(In(big));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), big.size());
  EXPECT_EQ(r->find_first_not_of('X'), std::string::npos);

  auto env = Make(IoSpec("io-env", {"/bin/sh", "-c",
                                    "printf '%s|%s|%s' \"$ETL_ARGS\" "
                                    "\"$AIS_BUCKET\" \"$AIS_OBJECT\""}));
  ASSERT_TRUE(env->Start().ok());
  r = env->Transform(In("", "a=1", "dir/x.txt"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "a=1|bck|dir/x.txt");
}

TEST(IoTest, ExitCodeFailureNamesStderr) {
  auto t =
      Make(IoSpec("io-fail", {"/bin/sh", "-c", "cat >/dev/null; echo 'bad input' >&2; exit 2"}));
  ASSERT_TRUE(t->Start().ok());
  auto r = t->Transform(In("data"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("etl io-fail: ", 0), 0u) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "exited with code 2")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "bad input")) << r.status().message();
  EXPECT_TRUE(LogsContain(*t, "bad input"));
}

TEST(IoTest, TimeoutKillsTheProgram) {
  TempDir dir;
  auto spec = IoSpec("io-sleep", {"/bin/sh", "-c", "echo $$ > pid; exec sleep 30"});
  spec.obj_timeout_ms = 500;
  spec.work_dir = dir.path();
  auto t = Make(spec);
  ASSERT_TRUE(t->Start().ok());
  auto start = Clock::now();
  auto r = t->Transform(In("x"));
  EXPECT_LT(MsSince(start), 3000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  EXPECT_EQ(r.status().message(), "etl io-sleep: transform timed out after 500ms");
  auto pids = ReadPids(dir.path(), "pid");
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(Gone(pids[0]));
}

TEST(IoTest, OutputCap) {
  auto spec = IoSpec("io-big", {"head", "-c", "50000000", "/dev/zero"});
  spec.max_output = 1 << 20;
  auto t = Make(spec);
  ASSERT_TRUE(t->Start().ok());
  auto r = t->Transform(In(""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTooLarge) << r.status().ToString();
}

// ---------------------------------------------------------------------------------------------
// Python code

EtlSpec CodeSpec(const std::string& name, const std::string& dir, std::string code) {
  EtlSpec s;
  s.name = name;
  s.comm = Comm::kCode;
  s.code = std::move(code);
  s.work_dir = dir;
  s.concurrency = 2;
  s.init_timeout_ms = 20'000;
  s.obj_timeout_ms = 5'000;
  return s;
}

constexpr char kPyUpper[] = R"(import os, sys, time
with open("pid.%d" % os.getpid(), "w") as f:
    f.write(str(os.getpid()))

def transform(data):
    if data == b"hang":
        time.sleep(60)
    if data == b"crash":
        sys.stderr.write("about to crash\n")
        os._exit(3)
    if data == b"raise":
        raise ValueError("boom from user code")
    if data == b"print":
        print("noise on stdout " * 100)
        sys.stdout.write("more noise\n")
        os.write(1, b"raw noise on fd 1\n")
    if data.startswith(b"sleep"):
        time.sleep(0.1)
    return data.upper()
)";

TEST(PythonCodeTest, TransformsArgsErrorsAndPrints) {
  TempDir dir;
  auto t = Make(CodeSpec("py", dir.path(), kPyUpper));
  Status st = t->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto r = t->Transform(In("hello"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "HELLO");
  r = t->Transform(In(""));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "");

  r = t->Transform(In("raise"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("etl py: ", 0), 0u);
  EXPECT_TRUE(Contains(r.status().message(), "ValueError: boom from user code"))
      << r.status().message();

  r = t->Transform(In("print"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "PRINT");
  r = t->Transform(In("after"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "AFTER");
  EXPECT_TRUE(LogsContain(*t, "raw noise on fd 1"));
  EXPECT_EQ(t->Health(), "");

  std::string big(3 << 20, 'q');
  r = t->Transform(In(big));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::string(3 << 20, 'Q'));

  TempDir dir2;
  auto spec = CodeSpec("py-args", dir2.path(),
                       "def my_func(data, args):\n    return data + b'|' + args.encode()\n");
  spec.transform_func = "my_func";
  auto a = Make(spec);
  ASSERT_TRUE(a->Start().ok());
  r = a->Transform(In("x", "k=v"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "x|k=v");
}

TEST(PythonCodeTest, StartFailures) {
  TempDir d1;
  auto spec = CodeSpec("py-deps", d1.path(), "def transform(d):\n    return d\n");
  // (numpy itself may well be installed on the machine running the tests.)
  spec.dependencies = "# needs\naisle-no-such-module>=1.20  # comment\n-r other.txt\n";
  auto t = Make(spec);
  Status st = t->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "etl py-deps: Python module 'aisle_no_such_module' is not installed (install Debian "
            "package python3-aisle-no-such-module)");

  TempDir d2;
  t = Make(CodeSpec("py-syntax", d2.path(), "def transform(data:\n    return data\n"));
  st = t->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind("etl py-syntax: ", 0), 0u);
  EXPECT_TRUE(Contains(st.message(), "SyntaxError")) << st.message();

  TempDir d3;
  t = Make(CodeSpec("py-import", d3.path(), "import no_such_module_xyz\n"));
  st = t->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "No module named 'no_such_module_xyz'")) << st.message();

  TempDir d4;
  t = Make(CodeSpec("py-nofunc", d4.path(), "def other(d):\n    return d\n"));
  st = t->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "no function 'transform'")) << st.message();

  // Installed modules pass the check.
  TempDir d5;
  spec = CodeSpec("py-deps-ok", d5.path(), "import json\ndef transform(d):\n    return d\n");
  spec.dependencies = "json\n";
  t = Make(spec);
  st = t->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(PythonCodeTest, HangAndCrashRestartTheWorker) {
  TempDir dir;
  auto spec = CodeSpec("py-bad", dir.path(), kPyUpper);
  spec.concurrency = 1;
  spec.obj_timeout_ms = 1000;
  auto t = Make(spec);
  ASSERT_TRUE(t->Start().ok());

  auto start = Clock::now();
  auto r = t->Transform(In("hang"));
  EXPECT_LT(MsSince(start), 4000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  EXPECT_EQ(r.status().message(), "etl py-bad: transform timed out after 1s");
  EXPECT_NE(t->Health(), "");
  r = t->Transform(In("next"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "NEXT");
  EXPECT_EQ(t->Health(), "");

  r = t->Transform(In("crash"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "etl py-bad: python worker exited with code 3"))
      << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "about to crash")) << r.status().message();
  r = t->Transform(In("again"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "AGAIN");

  // Every worker ever started (initial + 2 replacements) is gone after Stop.
  t->Stop();
  auto pids = ReadPids(dir.path(), "pid.");
  EXPECT_EQ(pids.size(), 3u);
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
  r = t->Transform(In("stopped"));
  EXPECT_FALSE(r.ok());
}

TEST(PythonCodeTest, ConcurrentCalls) {
  TempDir dir;
  auto t = Make(CodeSpec("py-par", dir.path(), kPyUpper));
  ASSERT_TRUE(t->Start().ok());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  auto start = Clock::now();
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      std::string data = "sleep-" + std::to_string(i);
      auto r = t->Transform(In(data));
      std::string want = data;
      for (char& c : want) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (r.ok() && *r == want) ++good;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_GE(MsSince(start), 350);  // 8 x 100 ms over 2 workers
  t.reset();                       // the destructor stops
  for (pid_t pid : ReadPids(dir.path(), "pid.")) EXPECT_TRUE(Gone(pid)) << pid;
}

// ---------------------------------------------------------------------------------------------
// HTTP programs

// hpush / hpull / hrev server; GET pulls from AIS_TARGET_URL. Object "die" exits the program.
constexpr char kPyHttpProgram[] = R"(import os, sys, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs, unquote
with open("pid.%d" % os.getpid(), "w") as f:
    f.write(str(os.getpid()))

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        sys.stderr.write("request " + self.path + "\n")
    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def parse(self):
        u = urlparse(self.path)
        args = parse_qs(u.query).get("etl_args", [""])[0]
        parts = u.path.lstrip("/").split("/", 1)
        if parts[-1] == "die":
            sys.stderr.write("dying on request\n")
            sys.stderr.flush()
            os._exit(1)
        return parts, args
    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, b"ok")
        parts, args = self.parse()
        url = os.environ["AIS_TARGET_URL"] + "/v1/objects/" + self.path.lstrip("/").split("?")[0]
        try:
            data = urllib.request.urlopen(url).read()
        except Exception as e:
            return self.reply(502, str(e).encode())
        self.reply(200, data.upper() + (b"|" + args.encode() if args else b""))
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        parts, args = self.parse()
        if body == b"slow":
            import time
            time.sleep(3)
        if body == b"fail":
            return self.reply(500, b"cannot transform this")
        self.reply(200, body.upper() + (b"|" + args.encode() if args else b"") + b"|" +
                   unquote(parts[-1]).encode())

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
)";

// A stand-in for the target: GET /v1/objects/<bucket>/<object> -> "content of <bucket>/<object>".
constexpr char kPyFakeTarget[] = R"(import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        else:
            body = b"content of " + self.path[len("/v1/objects/"):].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
)";

EtlSpec ProgramSpec(const std::string& name, Comm comm, const std::string& dir,
                    const std::string& script) {
  EtlSpec s;
  s.name = name;
  s.comm = comm;
  s.command = {"/usr/bin/python3", script};
  s.work_dir = dir;
  s.concurrency = 2;
  s.init_timeout_ms = 20'000;
  s.obj_timeout_ms = 5'000;
  return s;
}

TEST(HttpProgramTest, PushTransformsAndReportsErrors) {
  TempDir dir;
  std::string script = dir.Write("server.py", kPyHttpProgram);
  auto t = Make(ProgramSpec("push", Comm::kHpush, dir.path(), script));
  Status st = t->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(t->PullsData());
  EXPECT_EQ(t->ProgramUrl().rfind("http://127.0.0.1:", 0), 0u);
  auto r = t->Transform(In("hello", "x y", "dir/a b.txt"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "HELLO|x y|dir/a b.txt");

  r = t->Transform(In("fail"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etl push: program returned HTTP 500: cannot transform this");
  EXPECT_TRUE(LogsContain(*t, "request /bck/"));

  // The program dies: Health says so, the next call fails, a later one works again.
  r = t->Transform(In("x", "", "die"));
  EXPECT_FALSE(r.ok());
  std::string health;
  for (int i = 0; i < 40 && health.empty(); ++i) {
    health = t->Health();
    if (health.empty()) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(Contains(health, "exited with code 1")) << health;
  r = t->Transform(In("x"));
  if (!r.ok()) {
    EXPECT_TRUE(Contains(r.status().message(), "etl push: program exited with code 1"))
        << r.status().message();
  }
  auto start = Clock::now();
  do {
    r = t->Transform(In("back"));
    if (!r.ok()) std::this_thread::sleep_for(milliseconds(100));
  } while (!r.ok() && MsSince(start) < 10'000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "BACK|obj");
  EXPECT_EQ(t->Health(), "");

  t->Stop();
  auto pids = ReadPids(dir.path(), "pid.");
  EXPECT_EQ(pids.size(), 2u);
  for (pid_t pid : pids) EXPECT_TRUE(Gone(pid)) << pid;
}

TEST(HttpProgramTest, PullAndRevFetchFromTheTarget) {
  TempDir dir;
  // The fake target.
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok());
  std::string target_script = dir.Write("target.py", kPyFakeTarget);
  auto target = ChildProcess::Spawn(
      Opts({"/usr/bin/python3", target_script}, {{"PORT", std::to_string(*port)}}));
  ASSERT_TRUE(target.ok());
  std::string target_url = "http://127.0.0.1:" + std::to_string(*port);

  std::string script = dir.Write("server.py", kPyHttpProgram);
  for (Comm comm : {Comm::kHpull, Comm::kHrev}) {
    auto spec = ProgramSpec(CommName(comm), comm, dir.path(), script);
    spec.target_url = target_url;
    auto t = Make(spec);
    Status st = t->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(t->PullsData());
    // The fake target may still be starting.
    Result<std::string> r = Status::Unavailable("");
    for (int i = 0; i < 100; ++i) {
      r = t->Transform(In("", "k=v", "a/b.txt"));
      if (r.ok()) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "CONTENT OF BCK/A/B.TXT|k=v");
  }
  (*target)->Kill();
}

TEST(HttpProgramTest, StartFailures) {
  TempDir dir;
  auto spec = ProgramSpec("early-exit", Comm::kHpush, dir.path(), "");
  spec.command = {"/bin/sh", "-c", "echo 'cannot bind' >&2; exit 4"};
  auto t = Make(spec);
  Status st = t->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "etl early-exit: program exited with code 4")) << st.message();
  EXPECT_TRUE(Contains(st.message(), "cannot bind")) << st.message();

  spec.name = "never-healthy";
  spec.command = {"sleep", "30"};
  spec.init_timeout_ms = 500;
  t = Make(spec);
  auto start = Clock::now();
  st = t->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_LT(MsSince(start), 3000);
  EXPECT_TRUE(Contains(st.message(), "etl never-healthy: program not healthy after 500ms"))
      << st.message();
}

// ---------------------------------------------------------------------------------------------
// ws://

// A minimal stdlib WebSocket server, tests/testing/ws_upper_program.py: the bytes upper-cased +
// "|bucket|object|args", or a text error for "fail"; "hang" and "die" for the failure tests.
std::string WsProgram() {
  std::ifstream in(AISLE_TESTING_DIR "/ws_upper_program.py");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(ss.str().empty()) << "cannot read " AISLE_TESTING_DIR "/ws_upper_program.py";
  return ss.str();
}

TEST(WsProgramTest, UpperCaseOverPersistentConnections) {
  TempDir dir;
  std::string script = dir.Write("ws.py", WsProgram());
  auto t = Make(ProgramSpec("ws", Comm::kWs, dir.path(), script));
  Status st = t->Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto r = t->Transform(In("hello", "a=\"1\"", "x.txt"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "HELLO|bck|x.txt|a=\"1\"");

  std::string big(300 * 1024, 'z');
  r = t->Transform(In(big));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->substr(0, big.size()), std::string(big.size(), 'Z'));

  r = t->Transform(In("fail", "", "o1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etl ws: program error: cannot transform o1");

  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto rr = t->Transform(In("p" + std::to_string(i)));
      if (rr.ok() && *rr == "P" + std::to_string(i) + "|bck|obj|") ++good;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 6);

  t->Stop();
  for (pid_t pid : ReadPids(dir.path(), "pid.")) EXPECT_TRUE(Gone(pid)) << pid;
}

TEST(WsProgramTest, TimeoutAndProgramRestart) {
  TempDir dir;
  std::string script = dir.Write("ws.py", WsProgram());
  auto spec = ProgramSpec("ws2", Comm::kWs, dir.path(), script);
  spec.concurrency = 1;
  spec.obj_timeout_ms = 500;
  auto t = Make(spec);
  ASSERT_TRUE(t->Start().ok());
  auto start = Clock::now();
  auto r = t->Transform(In("hang"));
  EXPECT_LT(MsSince(start), 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "etl ws2: transform timed out after 500ms");
  r = t->Transform(In("next"));  // a new connection
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "NEXT|bck|obj|");

  r = t->Transform(In("die"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "etl ws2: program exited with code 1"))
      << r.status().message();
  EXPECT_TRUE(Contains(t->Health(), "exited with code 1")) << t->Health();
  start = Clock::now();
  do {
    r = t->Transform(In("back"));
    if (!r.ok()) std::this_thread::sleep_for(milliseconds(100));
  } while (!r.ok() && MsSince(start) < 10'000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "BACK|bck|obj|");
}

TEST(HttpProgramTest, TimeoutKeepsTheProgram) {
  TempDir dir;
  std::string script = dir.Write("server.py", kPyHttpProgram);
  auto spec = ProgramSpec("push-slow", Comm::kHpush, dir.path(), script);
  spec.obj_timeout_ms = 500;
  auto t = Make(spec);
  ASSERT_TRUE(t->Start().ok());
  auto start = Clock::now();
  auto r = t->Transform(In("slow"));
  EXPECT_LT(MsSince(start), 2000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  EXPECT_EQ(r.status().message(), "etl push-slow: transform timed out after 500ms");
  r = t->Transform(In("quick"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "QUICK|obj");
  EXPECT_EQ(t->Health(), "");
}

// No threads or descriptors are left behind once transformers are destroyed.
TEST(LeakTest, ThreadsAndDescriptors) {
  auto count = [](const char* dir) {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
  };
  // A first thread makes runtimes that start their own on the first pthread_create (e.g.
  // ThreadSanitizer's background thread) start it before the baseline is taken.
  std::thread([] {}).join();
  int threads0 = count("/proc/self/task");
  int fds0 = count("/proc/self/fd");
  {
    TempDir dir;
    auto io = Make(IoSpec("leak-io", {"cat"}));
    ASSERT_TRUE(io->Start().ok());
    ASSERT_TRUE(io->Transform(In("x")).ok());
    auto py = Make(CodeSpec("leak-py", dir.path(), "def transform(d):\n    return d\n"));
    ASSERT_TRUE(py->Start().ok());
    ASSERT_TRUE(py->Transform(In("x")).ok());
    std::string script = dir.Write("ws.py", WsProgram());
    auto ws = Make(ProgramSpec("leak-ws", Comm::kWs, dir.path(), script));
    ASSERT_TRUE(ws->Start().ok());
    ASSERT_TRUE(ws->Transform(In("x")).ok());
    EXPECT_GT(count("/proc/self/task"), threads0);
    io->Stop();
    py->Stop();
    ws->Stop();
  }
  EXPECT_EQ(count("/proc/self/task"), threads0);
  EXPECT_EQ(count("/proc/self/fd"), fds0);
}

TEST(StopTest, StopInterruptsInFlightTransforms) {
  TempDir dir;
  auto io = Make(IoSpec("stop-io", {"sleep", "30"}));
  ASSERT_TRUE(io->Start().ok());
  auto py = Make(CodeSpec("stop-py", dir.path(), kPyUpper));
  ASSERT_TRUE(py->Start().ok());
  std::thread a([&] { EXPECT_FALSE(io->Transform(In("x")).ok()); });
  std::thread b([&] { EXPECT_FALSE(py->Transform(In("hang")).ok()); });
  std::this_thread::sleep_for(milliseconds(300));
  auto start = Clock::now();
  io->Stop();
  py->Stop();
  EXPECT_LT(MsSince(start), 3000);
  a.join();
  b.join();
  for (pid_t pid : ReadPids(dir.path(), "pid.")) EXPECT_TRUE(Gone(pid)) << pid;
}

TEST(FactoryTest, RejectsBadSpecs) {
  EtlSpec s;
  s.name = "bad";
  s.comm = Comm::kIo;
  auto r = MakeProcessTransformer(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message().rfind("etl bad: ", 0), 0u);
  s.comm = Comm::kBuiltin;
  EXPECT_FALSE(MakeProcessTransformer(s).ok());
  s.comm = Comm::kCode;
  EXPECT_FALSE(MakeProcessTransformer(s).ok());
}

}  // namespace
}  // namespace aisle::etl
