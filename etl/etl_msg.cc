#include "etl/etl_msg.h"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/base64.h"

namespace aisle::etl {
namespace {

using json = nlohmann::json;

Status Bad(const std::string& name, const std::string& what) {
  return Status::InvalidArgument("etl " + (name.empty() ? std::string("init") : name) + ": " +
                                 what);
}

Result<std::string> DecodeB64Field(const json& j, const char* key, const std::string& name) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) return Bad(name, std::string("\"") + key + "\" must be a base64 string");
  std::string out;
  if (j[key].get<std::string>().empty()) return out;
  if (!Base64Decode(j[key].get<std::string>(), &out))
    return Bad(name, std::string("\"") + key + "\" is not valid base64");
  return out;
}

Result<int64_t> DurationField(const json& j, const char* key, int64_t def,
                              const std::string& name) {
  if (!j.contains(key) || j[key].is_null()) return def;
  const json& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>() / 1'000'000;  // Go: nanoseconds
  if (!v.is_string()) return Bad(name, std::string("\"") + key + "\" must be a duration");
  if (v.get<std::string>().empty()) return def;
  auto ms = ParseDurationMs(v.get<std::string>());
  if (!ms.ok()) return Bad(name, std::string("\"") + key + "\": " + ms.status().message());
  return *ms;
}

// "512MiB", "1GB", "1048576" → bytes.
Result<uint64_t> SizeField(const json& j, const char* key, uint64_t def, const std::string& name) {
  if (!j.contains(key) || j[key].is_null()) return def;
  const json& v = j[key];
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0))
    return v.get<uint64_t>();
  if (!v.is_string()) return Bad(name, std::string("\"") + key + "\" must be a size");
  std::string s = v.get<std::string>();
  size_t i = 0;
  uint64_t n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    n = n * 10 + (s[i++] - '0');
  std::string unit = s.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint64_t mul = 0;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    mul = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    mul = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    mul = 1ull << 30;
  if (i == 0 || mul == 0)
    return Bad(name, std::string("\"") + key + "\": invalid size \"" + s + "\"");
  return n * mul;
}

Status EnvField(const json& j, EtlSpec* spec) {
  if (!j.contains("env") || j["env"].is_null()) return Status::OK();
  const json& env = j["env"];
  if (env.is_object()) {  // {"K": "V"} as a convenience
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (!it.value().is_string()) return Bad(spec->name, "env values must be strings");
      spec->env.emplace_back(it.key(), it.value().get<std::string>());
    }
    return Status::OK();
  }
  if (!env.is_array()) return Bad(spec->name, "\"env\" must be a list of {name, value}");
  for (const auto& e : env) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string())
      return Bad(spec->name, "\"env\" entries need a string \"name\"");
    std::string value =
        e.contains("value") && e["value"].is_string() ? e["value"].get<std::string>() : "";
    spec->env.emplace_back(e["name"].get<std::string>(), value);
  }
  return Status::OK();
}

Result<Comm> ParseComm(std::string c, const std::string& name) {
  if (c.empty()) return Comm::kHpush;  // AIStore's default
  if (c.find("://") == std::string::npos) c += "://";
  if (c == "io://") return Comm::kIo;
  if (c == "hpush://") return Comm::kHpush;
  if (c == "hpull://") return Comm::kHpull;
  if (c == "hrev://") return Comm::kHrev;
  if (c == "ws://") return Comm::kWs;
  return Bad(name, "unknown communication type \"" + c +
                       "\" (expecting io://, hpush://, hpull://, hrev:// or ws://)");
}

Status CommandField(const json& cmd, EtlSpec* spec) {
  if (cmd.is_string()) {
    if (cmd.get<std::string>().empty()) return Bad(spec->name, "\"command\" is empty");
    spec->command = {"/bin/sh", "-c", cmd.get<std::string>()};
    return Status::OK();
  }
  if (!cmd.is_array() || cmd.empty())
    return Bad(spec->name, "\"command\" must be a non-empty list");
  for (const auto& a : cmd) {
    if (!a.is_string()) return Bad(spec->name, "\"command\" must be a list of strings");
    spec->command.push_back(a.get<std::string>());
  }
  return Status::OK();
}

constexpr std::string_view kBuiltinImage = "aisle/builtin:";
// The SDK's Etl.init_class image ("aistorage/runtime_python:3.13"): run in Aisle's runtime.
constexpr std::string_view kPythonRuntimeImage = "aistorage/runtime_python";

// Removes env entry `key` (the last one wins) into *value; false if absent.
bool TakeEnv(EtlSpec* spec, std::string_view key, std::string* value) {
  bool found = false;
  for (auto it = spec->env.begin(); it != spec->env.end();) {
    if (it->first == key) {
      *value = it->second;
      found = true;
      it = spec->env.erase(it);
    } else {
      ++it;
    }
  }
  return found;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find_first_of(", \n", pos);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > pos) out.emplace_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Etl.init_class: the pickled class (checked to be base64 here; unpickled by the runtime),
// PACKAGES (pip names, checked against installed modules) and OS_PACKAGES (Debian packages).
Status ClassFields(const std::string& comm, EtlSpec* spec) {
  std::string raw;
  if (spec->class_payload.empty() || !Base64Decode(spec->class_payload, &raw) || raw.empty())
    return Bad(spec->name, "ETL_CLASS_PAYLOAD is not valid base64 (of a pickled ETLServer class)");
  if (!comm.empty()) {
    AISLE_ASSIGN_OR_RETURN(Comm c, ParseComm(comm, spec->name));
    if (c == Comm::kHrev || c == Comm::kIo)
      return Bad(spec->name, "init_class supports hpush://, hpull:// and ws://, not " + comm);
  }
  spec->comm = Comm::kCode;
  std::string value;
  if (TakeEnv(spec, "PACKAGES", &value))
    for (const auto& p : SplitList(value)) spec->dependencies += p + "\n";
  if (TakeEnv(spec, "OS_PACKAGES", &value)) spec->os_packages = SplitList(value);
  for (const auto& p : spec->os_packages) {
    bool ok = !p.empty();
    for (char ch : p)
      ok = ok &&
           (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '+' || ch == '.');
    if (!ok) return Bad(spec->name, "OS_PACKAGES: invalid Debian package name \"" + p + "\"");
  }
  // NUM_WORKERS: the SDK's worker count, when the message sets no concurrency.
  if (TakeEnv(spec, "NUM_WORKERS", &value) && spec->concurrency == 0) {
    int n = std::atoi(value.c_str());
    if (n > 0 && n <= 256) spec->concurrency = n;
  }
  return Status::OK();
}

}  // namespace

Status ValidateEtlName(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = name.size() >= 2 && name.size() <= 32 && alnum(name.front()) && alnum(name.back());
  for (char c : name) ok = ok && (alnum(c) || c == '-');
  if (ok) return Status::OK();
  return Status::InvalidArgument("invalid etl name \"" + std::string(name) +
                                 "\": 2 to 32 lowercase letters, digits and '-', starting and "
                                 "ending with a letter or digit");
}

Result<int64_t> ParseDurationMs(std::string_view s) {
  if (s.empty()) return Status::InvalidArgument("empty duration");
  bool all_digits = true;
  for (char c : s) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
  if (all_digits) return static_cast<int64_t>(std::stoll(std::string(s)) / 1'000'000);
  double total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) return Status::InvalidArgument("invalid duration \"" + std::string(s) + "\"");
    double v = std::stod(std::string(s.substr(start, i - start)));
    size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(u, i - u);
    double mul = unit == "h"    ? 3'600'000
                 : unit == "m"  ? 60'000
                 : unit == "s"  ? 1000
                 : unit == "ms" ? 1
                 : unit == "us" ? 0.001
                 : unit == "ns" ? 1e-6
                                : -1;
    if (mul < 0)
      return Status::InvalidArgument("invalid duration \"" + std::string(s) +
                                     "\" (units: h, m, s, ms)");
    total_ms += v * mul;
  }
  return static_cast<int64_t>(total_ms);
}

namespace {

// Timeouts, memory and output limits, concurrency: each optional, checked.
Status LimitFields(const json& j, EtlSpec* spec) {
  AISLE_ASSIGN_OR_RETURN(spec->init_timeout_ms,
                         DurationField(j, "init_timeout", spec->init_timeout_ms, spec->name));
  AISLE_ASSIGN_OR_RETURN(spec->obj_timeout_ms,
                         DurationField(j, "obj_timeout", spec->obj_timeout_ms, spec->name));
  if (spec->init_timeout_ms <= 0 || spec->obj_timeout_ms <= 0)
    return Bad(spec->name, "timeouts must be positive");
  if (j.contains("support_direct_put") && j["support_direct_put"].is_boolean())
    spec->direct_put = j["support_direct_put"].get<bool>();
  AISLE_ASSIGN_OR_RETURN(spec->memory_limit, SizeField(j, "memory_limit", 0, spec->name));
  AISLE_ASSIGN_OR_RETURN(spec->max_output,
                         SizeField(j, "max_output", spec->max_output, spec->name));
  if (j.contains("concurrency") && !j["concurrency"].is_null()) {
    if (!j["concurrency"].is_number_integer() || j["concurrency"].get<int>() < 0 ||
        j["concurrency"].get<int>() > 256)
      return Bad(spec->name, "\"concurrency\" must be 0..256 (0 = one per CPU)");
    spec->concurrency = j["concurrency"].get<int>();
  }
  return Status::OK();
}

// Python code (base64 "code" and "dependencies") and its entry point.
Status CodeFields(const json& j, EtlSpec* spec) {
  spec->comm = Comm::kCode;
  AISLE_ASSIGN_OR_RETURN(spec->code, DecodeB64Field(j, "code", spec->name));
  if (spec->code.empty()) return Bad(spec->name, "\"code\" is empty");
  AISLE_ASSIGN_OR_RETURN(spec->dependencies, DecodeB64Field(j, "dependencies", spec->name));
  if (j.contains("funcs") && j["funcs"].is_object() && j["funcs"].contains("transform") &&
      j["funcs"]["transform"].is_string() && !j["funcs"]["transform"].get<std::string>().empty())
    spec->transform_func = j["funcs"]["transform"].get<std::string>();
  std::string runtime =
      j.contains("runtime") && j["runtime"].is_string() ? j["runtime"].get<std::string>() : "";
  if (!runtime.empty() && runtime.rfind("python", 0) != 0)
    return Bad(spec->name, "runtime \"" + runtime + "\" is not supported (Python code only)");
  return Status::OK();
}

}  // namespace

Result<EtlSpec> ParseInitMsg(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("etl init: malformed message (expecting a JSON object)");
  EtlSpec spec;
  for (const char* key : {"name", "id"}) {
    if (j.contains(key) && j[key].is_string() && !j[key].get<std::string>().empty()) {
      spec.name = j[key].get<std::string>();
      break;
    }
  }
  if (spec.name.empty()) return Bad("", "missing \"name\"");
  AISLE_RETURN_IF_ERROR(ValidateEtlName(spec.name));

  AISLE_RETURN_IF_ERROR(LimitFields(j, &spec));
  std::string comm = j.contains("communication") && j["communication"].is_string()
                         ? j["communication"].get<std::string>()
                         : "";
  AISLE_RETURN_IF_ERROR(EnvField(j, &spec));

  auto builtin_args = [&]() -> std::string {
    for (const char* key : {"args", "etl_args", "argument"})
      if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    return "";
  };

  if (j.contains("builtin")) {
    if (!j["builtin"].is_string() || j["builtin"].get<std::string>().empty())
      return Bad(spec.name, "\"builtin\" must name a built-in transform");
    spec.comm = Comm::kBuiltin;
    spec.builtin = j["builtin"].get<std::string>();
    spec.builtin_args = builtin_args();
    return spec;
  }
  if (j.contains("code")) {
    AISLE_RETURN_IF_ERROR(CodeFields(j, &spec));
    // AIStore's legacy io:// runtime runs the code as a program per object (stdin → stdout);
    // hpush:// and hpull:// (and no communication) call its transform(data).
    if (!comm.empty()) {
      AISLE_ASSIGN_OR_RETURN(Comm c, ParseComm(comm, spec.name));
      if (c == Comm::kIo)
        spec.comm = Comm::kIo;
      else if (c != Comm::kHpush && c != Comm::kHpull)
        return Bad(spec.name, "init-code supports io://, hpush:// and hpull://, not " + comm);
    }
    return spec;
  }
  if (j.contains("spec") && !j.contains("runtime") && !j.contains("command"))
    return Bad(spec.name,
               "pod specs need Kubernetes, which Aisle does not use: send the program as "
               "\"runtime\": {\"command\": [...]} (or \"command\") instead");

  const json* runtime = j.contains("runtime") && j["runtime"].is_object() ? &j["runtime"] : nullptr;
  std::string image = runtime && runtime->contains("image") && (*runtime)["image"].is_string()
                          ? (*runtime)["image"].get<std::string>()
                          : "";
  if (image.rfind(kBuiltinImage, 0) == 0) {
    spec.comm = Comm::kBuiltin;
    spec.builtin = image.substr(kBuiltinImage.size());
    spec.builtin_args = builtin_args();
    if (spec.builtin.empty()) return Bad(spec.name, "image \"" + image + "\" names no built-in");
    return spec;
  }
  if (image.rfind(kPythonRuntimeImage, 0) == 0) {
    EtlSpec cls = spec;
    if (runtime) AISLE_RETURN_IF_ERROR(EnvField(*runtime, &cls));
    if (TakeEnv(&cls, "ETL_CLASS_PAYLOAD", &cls.class_payload)) {
      AISLE_RETURN_IF_ERROR(ClassFields(comm, &cls));
      return cls;
    }
  }
  const json* cmd = nullptr;
  if (runtime && runtime->contains("command") && !(*runtime)["command"].is_null())
    cmd = &(*runtime)["command"];
  else if (j.contains("command") && !j["command"].is_null())
    cmd = &j["command"];
  if (!cmd)
    return Bad(spec.name,
               image.empty()
                   ? "nothing to run: expecting \"builtin\", \"code\" or a command"
                   : "image \"" + image +
                         "\" has no \"command\": without a container runtime Aisle runs the "
                         "command as a local program, so it must be given");
  AISLE_RETURN_IF_ERROR(CommandField(*cmd, &spec));
  if (runtime) AISLE_RETURN_IF_ERROR(EnvField(*runtime, &spec));
  AISLE_ASSIGN_OR_RETURN(spec.comm, ParseComm(comm, spec.name));
  return spec;
}

}  // namespace aisle::etl
