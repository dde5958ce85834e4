// Init-message parsing (every accepted shape and the refusals) and the ETL manager's
// lifecycle (apply, start failure, stop/start, delete, accounting) with a fake transformer.
#include "etl/etl_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "common/base64.h"
#include "etl/etl_msg.h"
#include "tests/testing/temp_dir.h"

namespace aisle::etl {
namespace {

TEST(EtlMsg, NameRules) {
  EXPECT_TRUE(ValidateEtlName("md5").ok());
  EXPECT_TRUE(ValidateEtlName("resize-224").ok());
  for (const char* bad : {"", "a", "Upper", "-lead", "trail-", "under_score", "a/b",
                          "x123456789012345678901234567890123"})
    EXPECT_FALSE(ValidateEtlName(bad).ok()) << bad;
}

TEST(EtlMsg, Durations) {
  EXPECT_EQ(*ParseDurationMs("45s"), 45000);
  EXPECT_EQ(*ParseDurationMs("5m"), 300000);
  EXPECT_EQ(*ParseDurationMs("1m30s"), 90000);
  EXPECT_EQ(*ParseDurationMs("250ms"), 250);
  EXPECT_EQ(*ParseDurationMs("2000000000"), 2000);  // Go: nanoseconds
  EXPECT_FALSE(ParseDurationMs("5 parsecs").ok());
  EXPECT_FALSE(ParseDurationMs("s").ok());
}

TEST(EtlMsg, InitCodeMessage) {
  std::string code = "def up(data):\n    return data.upper()\n";
  auto spec =
      ParseInitMsg(R"({"name":"py-up","runtime":"python3.11v2","code":")" + Base64Encode(code) +
                   R"(","dependencies":")" + Base64Encode("numpy\n") +
                   R"(","funcs":{"transform":"up"},"obj_timeout":"3s","init_timeout":"1m"})");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->comm, Comm::kCode);
  EXPECT_EQ(spec->code, code);
  EXPECT_EQ(spec->dependencies, "numpy\n");
  EXPECT_EQ(spec->transform_func, "up");
  EXPECT_EQ(spec->obj_timeout_ms, 3000);
  EXPECT_EQ(spec->init_timeout_ms, 60000);
}

TEST(EtlMsg, SpecMessageRunsTheCommand) {
  auto spec = ParseInitMsg(
      R"({"name":"tr-up","communication":"io","runtime":{"image":"x/y:1","command":["tr","a-z","A-Z"],
          "env":[{"name":"K","value":"V"}]},"concurrency":3,"memory_limit":"64MiB"})");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->comm, Comm::kIo);
  EXPECT_EQ(spec->command, (std::vector<std::string>{"tr", "a-z", "A-Z"}));
  ASSERT_EQ(spec->env.size(), 1u);
  EXPECT_EQ(spec->env[0].first, "K");
  EXPECT_EQ(spec->concurrency, 3);
  EXPECT_EQ(spec->memory_limit, 64u << 20);
  // Default communication is hpush://; a string command runs through the shell.
  auto sh = ParseInitMsg(R"({"name":"sh-prog","command":"echo hi"})");
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh->comm, Comm::kHpush);
  EXPECT_EQ(sh->command, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
}

TEST(EtlMsg, InitCodeWithIoRunsTheCodeAsAProgram) {
  std::string code = "import sys\nsys.stdout.write(sys.stdin.read())\n";
  auto spec =
      ParseInitMsg(R"({"name":"io-code","communication":"io://","runtime":"python3","code":")" +
                   Base64Encode(code) + R"("})");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->comm, Comm::kIo);
  EXPECT_EQ(spec->code, code);
  EXPECT_TRUE(spec->command.empty());  // the io transformer runs the code itself
  auto hpush = ParseInitMsg(R"({"name":"hp-code","communication":"hpush://","code":")" +
                            Base64Encode(code) + R"("})");
  ASSERT_TRUE(hpush.ok());
  EXPECT_EQ(hpush->comm, Comm::kCode);
  EXPECT_FALSE(ParseInitMsg(R"({"name":"ws-code","communication":"ws://","code":")" +
                            Base64Encode(code) + R"("})")
                   .ok());
}

TEST(EtlTimeouts, RequestDeadlineCapsTheObjectTimeout) {
  TransformInput in;
  bool by_deadline = true;
  EXPECT_EQ(EffectiveTimeoutMs(in, 10'000, &by_deadline), 10'000);  // no deadline
  EXPECT_FALSE(by_deadline);
  in.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  EXPECT_EQ(EffectiveTimeoutMs(in, 10'000, &by_deadline), 10'000);  // obj_timeout binds
  EXPECT_FALSE(by_deadline);
  int64_t left = EffectiveTimeoutMs(in, 0, &by_deadline);  // no obj_timeout: the deadline
  EXPECT_TRUE(by_deadline);
  EXPECT_GT(left, 59'000);
  in.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(EffectiveTimeoutMs(in, 10'000, &by_deadline), 0);  // already expired
  EXPECT_TRUE(by_deadline);
}

TEST(EtlMsg, InitClassMessage) {
  std::string msg =
      R"({"name":"cls","communication":"hpush://","init_timeout":"5m","obj_timeout":"45s",
          "support_direct_put":true,"runtime":{"image":"aistorage/runtime_python:3.13","env":[
          {"name":"ETL_CLASS_PAYLOAD","value":")" +
      Base64Encode("pickle bytes") + R"("},{"name":"PACKAGES","value":"pillow,numpy"},
          {"name":"OS_PACKAGES","value":"ffmpeg"},{"name":"NUM_WORKERS","value":"3"},
          {"name":"K","value":"V"}]}})";
  auto spec = ParseInitMsg(msg);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->comm, Comm::kCode);
  EXPECT_EQ(spec->class_payload, Base64Encode("pickle bytes"));
  EXPECT_TRUE(spec->code.empty());
  EXPECT_EQ(spec->dependencies, "pillow\nnumpy\n");
  EXPECT_EQ(spec->os_packages, std::vector<std::string>{"ffmpeg"});
  EXPECT_EQ(spec->concurrency, 3);
  ASSERT_EQ(spec->env.size(), 1u);  // the payload and package lists are not passed on
  EXPECT_EQ(spec->env[0].first, "K");
  EXPECT_EQ(spec->init_timeout_ms, 300000);
  EXPECT_TRUE(spec->direct_put);  // "support_direct_put": Ais-Node-Url may be sent

  auto bad = ParseInitMsg(
      R"({"name":"cls","runtime":{"image":"aistorage/runtime_python:3.13","env":[{"name":"ETL_CLASS_PAYLOAD","value":"%%%"}]}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ETL_CLASS_PAYLOAD"), std::string::npos);
  auto os = ParseInitMsg(
      R"({"name":"cls","runtime":{"image":"aistorage/runtime_python:3.13","env":[{"name":"ETL_CLASS_PAYLOAD","value":"eA=="},{"name":"OS_PACKAGES","value":"a;rm -rf"}]}})");
  EXPECT_FALSE(os.ok());
  // Without a payload, the image still needs a command.
  EXPECT_FALSE(
      ParseInitMsg(R"({"name":"cls","runtime":{"image":"aistorage/runtime_python:3.13"}})").ok());
}

TEST(EtlMsg, Builtins) {
  auto a = ParseInitMsg(R"({"name":"rs","builtin":"image-resize","args":"size=256,crop=224"})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->comm, Comm::kBuiltin);
  EXPECT_EQ(a->builtin, "image-resize");
  EXPECT_EQ(a->builtin_args, "size=256,crop=224");
  auto b = ParseInitMsg(R"({"name":"md","runtime":{"image":"aisle/builtin:md5"}})");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->builtin, "md5");
}

TEST(EtlMsg, Refusals) {
  struct Case {
    const char* json;
    const char* needle;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", "malformed"},
           {R"({"communication":"io://"})", "missing \"name\""},
           {R"({"name":"BAD"})", "invalid etl name"},
           {R"({"name":"ok-1","spec":"YXBp"})", "Kubernetes"},
           {R"({"name":"ok-1","runtime":{"image":"img"}})", "no \"command\""},
           {R"({"name":"ok-1","communication":"carrier-pigeon","command":["x"]})",
            "unknown communication"},
           {R"({"name":"ok-1","code":"%%%"})", "base64"},
           {R"({"name":"ok-1","code":"eA==","runtime":"node18"})", "not supported"},
           {R"({"name":"ok-1","builtin":"md5","obj_timeout":"soon"})", "obj_timeout"},
           {R"({"name":"ok-1","builtin":"md5","concurrency":-1})", "concurrency"},
           {R"({"name":"ok-1","builtin":"md5","memory_limit":"lots"})", "memory_limit"},
       }) {
    auto r = ParseInitMsg(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.json << " -> " << r.status().message();
  }
}

// A transformer whose Start fails when the spec's builtin_args say so, and which upper-cases.
class FakeTransformer : public Transformer {
 public:
  FakeTransformer(const EtlSpec& spec, std::atomic<int>* live) : spec_(spec), live_(live) {}
  ~FakeTransformer() override { Stop(); }
  Status Start() override {
    if (spec_.builtin_args == "fail")
      return Status::InvalidArgument("etl " + spec_.name + ": nope");
    started_ = true;
    ++*live_;
    return Status::OK();
  }
  void Stop() override {
    if (started_) --*live_;
    started_ = false;
  }
  Result<std::string> Transform(const TransformInput& in) override {
    if (in.data == "bad") return Status::InvalidArgument("etl " + spec_.name + ": bad input");
    std::string out(in.data);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }

 private:
  EtlSpec spec_;
  std::atomic<int>* live_;
  bool started_ = false;
};

class EtlManagerTest : public ::testing::Test {
 protected:
  EtlManagerTest()
      : mgr_(EtlManager::Options{dir_.path() + "/etl", "http://127.0.0.1:1",
                                 [this](const EtlSpec& s) -> Result<std::unique_ptr<Transformer>> {
                                   return std::unique_ptr<Transformer>(
                                       new FakeTransformer(s, &live_));
                                 },
                                 nullptr}) {}
  static std::string Msg(const std::string& name, const std::string& args = "") {
    return R"({"name":")" + name + R"(","builtin":"fake","args":")" + args + R"("})";
  }
  testing::TempDir dir_;
  std::atomic<int> live_{0};
  EtlManager mgr_;
};

TEST_F(EtlManagerTest, InitTransformCountAndDelete) {
  auto name = mgr_.Init(Msg("up"));
  ASSERT_TRUE(name.ok()) << name.status().ToString();
  EXPECT_EQ(*name, "up");
  EXPECT_EQ(live_, 1);
  EXPECT_EQ(mgr_.Init(Msg("up")).status().code(), StatusCode::kAlreadyExists);
  auto inst = mgr_.Acquire("up");
  ASSERT_TRUE(inst.ok());
  auto in = [](std::string_view data, std::string object) {
    TransformInput ti;
    ti.data = data;
    ti.bucket = "b";
    ti.object = std::move(object);
    return ti;
  };
  EXPECT_EQ(*(*inst)->Run(in("abc", "o")), "ABC");
  EXPECT_FALSE((*inst)->Run(in("bad", "o2")).ok());
  auto st = mgr_.Get("up");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->stage, Stage::kRunning);
  EXPECT_EQ(st->obj_count, 2u);
  EXPECT_EQ(st->in_bytes, 6u);
  EXPECT_EQ(st->out_bytes, 3u);
  ASSERT_EQ(st->obj_errors.size(), 1u);
  EXPECT_EQ(st->obj_errors[0].object, "b/o2");
  EXPECT_EQ(st->obj_errors[0].code, StatusCode::kInvalidArgument);
  ASSERT_TRUE(mgr_.Delete("up").ok());
  EXPECT_EQ(live_, 0);
  EXPECT_EQ(mgr_.Acquire("up").status().code(), StatusCode::kNotFound);
  EXPECT_NE(mgr_.Acquire("up").status().message().find("etl job up does not exist"),
            std::string::npos);
}

TEST_F(EtlManagerTest, StartFailureIsReportedAndForgotten) {
  auto r = mgr_.Init(Msg("broken", "fail"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
  EXPECT_TRUE(mgr_.List().empty());
}

TEST_F(EtlManagerTest, StopStartAndApply) {
  ASSERT_TRUE(mgr_.Init(Msg("one")).ok());
  ASSERT_TRUE(mgr_.SetRunning("one", false).ok());
  EXPECT_EQ(live_, 0);
  auto acq = mgr_.Acquire("one");
  EXPECT_EQ(acq.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(acq.status().message().find("stopped"), std::string::npos);
  ASSERT_TRUE(mgr_.SetRunning("one", true).ok());
  ASSERT_TRUE(mgr_.Acquire("one").ok());
  EXPECT_EQ(live_, 1);
  // Desired state from cluster metadata: "one" goes, "two" comes (stopped), "three" runs.
  mgr_.Apply({{"two", Msg("two"), false}, {"three", Msg("three"), true}});
  auto three = mgr_.WaitReady("three", 5000);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->stage, Stage::kRunning);
  EXPECT_EQ(mgr_.Get("two")->stage, Stage::kStopped);
  EXPECT_EQ(mgr_.Get("one").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(live_, 1);
  // A changed message for the same name restarts it with the new one.
  mgr_.Apply({{"three", Msg("three", "fail"), true}});
  auto failed = mgr_.WaitReady("three", 5000);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->stage, Stage::kError);
  EXPECT_EQ(mgr_.Acquire("three").status().code(), StatusCode::kUnavailable);
  mgr_.Apply({});
  EXPECT_EQ(live_, 0);
  EXPECT_TRUE(mgr_.List().empty());
}

TEST(Base64, RoundTripAndRejects) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\0\xff\x10", 3)}) {
    std::string back;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &back)) << s;
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  std::string out;
  EXPECT_TRUE(Base64Decode("Zm9v\nYmFy", &out));
  EXPECT_EQ(out, "foobar");
  for (const char* bad : {"Zm9", "Zm9=v", "Z===", "Zm9v!mFy", "=Zm9"})
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
}

}  // namespace
}  // namespace aisle::etl
