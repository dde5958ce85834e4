// aisle object put|get|cat|head|ls|rm
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/uri.h"
#include "common/checksum.h"
#include "common/fd_io.h"
#include "common/names.h"

namespace aisle::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Single-object transfers smaller than this get no progress bar.
constexpr uint64_t kSingleBarThreshold = 1 << 20;

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool StderrIsTty(const CliContext& ctx) { return !ctx.json && ::isatty(STDERR_FILENO); }

// Runs fn(i) for i in [0, n) on up to `workers` threads.
void ParallelFor(size_t n, int workers, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto loop = [&] {
    for (size_t i; (i = next++) < n;) fn(i);
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(workers, 1)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(loop);
  loop();
  for (auto& t : pool) t.join();
}

// Checks the streamed bytes against the checksum the server reported.
Status VerifyChecksum(const ObjectAttrs& attrs, const Xxh64Stream& hash, const std::string& uri) {
  if (attrs.checksum_type != "xxhash" || attrs.checksum_value.empty()) return Status::OK();
  std::string got = Hex64(hash.Digest());
  if (got == attrs.checksum_value) return Status::OK();
  return Status::DataCorruption("get " + uri + ": checksum mismatch: received data hashes to " +
                                got + ", server reported " + attrs.checksum_value);
}

// Streams the object into a temp file next to `dest`, verifies it and renames it into place.
Result<uint64_t> DownloadToFile(AisClient* client, const std::string& bucket,
                                const std::string& name, const std::string& dest,
                                Progress* progress) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp =
      dest + ".aisle-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  Xxh64Stream hash;
  uint64_t written = 0;
  Result<ObjectAttrs> attrs = client->GetObject(bucket, name, [&](std::string_view chunk) {
    AISLE_RETURN_IF_ERROR(WriteAll(fd, chunk, tmp));
    hash.Update(chunk.data(), chunk.size());
    written += chunk.size();
    if (progress != nullptr) progress->AddBytes(static_cast<int64_t>(chunk.size()));
    return Status::OK();
  });
  Status st = attrs.status();
  if (st.ok()) st = VerifyChecksum(*attrs, hash, FormatAisUri(bucket, name));
  if (::close(fd) != 0 && st.ok()) st = Status::FromErrno(errno, "close " + tmp);
  if (st.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename " + tmp + " to " + dest);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    if (progress != nullptr) progress->AddBytes(-static_cast<int64_t>(written));
    return st;
  }
  return written;
}

// page_size 0 = the server's default.
Result<std::vector<ObjectEntry>> ListAll(AisClient* client, const std::string& bucket,
                                         const std::string& prefix, uint64_t limit,
                                         uint32_t page_size = 0) {
  std::vector<ObjectEntry> all;
  ListObjectsArgs args;
  args.prefix = prefix;
  for (;;) {
    args.pagesize = page_size;
    if (limit > 0) {
      uint64_t want = std::min<uint64_t>(limit - all.size(), page_size > 0 ? page_size : 10000);
      args.pagesize = static_cast<uint32_t>(want);
    }
    AISLE_ASSIGN_OR_RETURN(ObjectPage page, client->ListObjectsPage(bucket, args));
    for (ObjectEntry& e : page.entries) {
      if (limit > 0 && all.size() >= limit) break;
      all.push_back(std::move(e));
    }
    if (page.continuation_token.empty() || (limit > 0 && all.size() >= limit)) break;
    if (page.continuation_token == args.continuation_token) {
      return Status::Internal("list " + FormatAisUri(bucket) + ": server repeated token \"" +
                              page.continuation_token + "\"");
    }
    args.uuid = page.uuid;
    args.continuation_token = page.continuation_token;
  }
  return all;
}

json AttrsJson(const std::string& bucket, const std::string& name, const ObjectAttrs& a) {
  json j = {{"bucket", FormatAisUri(bucket)}, {"name", name}};
  if (a.size) j["size"] = *a.size;
  if (!a.checksum_type.empty()) {
    j["checksum"] = {{"type", a.checksum_type}, {"value", a.checksum_value}};
  }
  if (!a.version.empty()) j["version"] = a.version;
  if (!a.atime.empty()) j["atime"] = a.atime;
  if (!a.custom.empty()) {
    json custom = json::object();
    for (const auto& [k, v] : a.custom) custom[k] = v;
    j["custom"] = custom;
  }
  if (!a.location.empty()) j["location"] = a.location;
  if (a.present) j["present"] = *a.present;
  return j;
}

// ---- put ----

struct PutJob {
  std::string path;
  std::string name;
  uint64_t size = 0;
};

struct PutFailure {
  std::string path;
  std::string name;
  Status status;
};

Status PutOne(AisClient* client, const std::string& bucket, const PutJob& job, Progress* progress,
              ObjectAttrs* attrs_out) {
  uint64_t last = 0;
  Result<ObjectAttrs> attrs = client->PutObject(bucket, job.name, job.path, [&](uint64_t sent) {
    if (progress != nullptr) {
      progress->AddBytes(static_cast<int64_t>(sent) - static_cast<int64_t>(last));
    }
    last = sent;
  });
  if (progress != nullptr) {
    // Settle to the exact file size (or nothing, on failure), whatever the attempts reported.
    int64_t final_bytes = attrs.ok() ? static_cast<int64_t>(job.size) : 0;
    progress->AddBytes(final_bytes - static_cast<int64_t>(last));
    progress->ObjectDone(attrs.ok());
  }
  if (!attrs.ok()) return attrs.status();
  if (attrs_out != nullptr) *attrs_out = std::move(*attrs);
  return Status::OK();
}

int RunPutRecursive(const CliContext& ctx, const std::string& src, const AisUri& dst, int workers) {
  std::string prefix = dst.object;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  std::vector<PutJob> jobs;
  std::error_code ec;
  fs::recursive_directory_iterator it(src, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Fail("read directory " + src + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Fail("read directory " + src + ": " + ec.message());
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    PutJob job;
    job.path = it->path().string();
    job.name = prefix + it->path().lexically_relative(src).generic_string();
    job.size = it->file_size(fec);
    jobs.push_back(std::move(job));
  }
  if (ec) return Fail("read directory " + src + ": " + ec.message());
  std::sort(jobs.begin(), jobs.end(),
            [](const PutJob& a, const PutJob& b) { return a.name < b.name; });
  uint64_t total = 0;
  for (const PutJob& j : jobs) total += j.size;

  Progress progress("PUT", jobs.size(), total, StderrIsTty(ctx));
  std::mutex mu;
  std::vector<PutFailure> failures;
  ParallelFor(jobs.size(), workers, [&](size_t i) {
    Status s = PutOne(ctx.client, dst.bucket, jobs[i], &progress, nullptr);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lk(mu);
      failures.push_back({jobs[i].path, jobs[i].name, s});
    }
  });
  progress.Finish();

  std::sort(failures.begin(), failures.end(),
            [](const PutFailure& a, const PutFailure& b) { return a.name < b.name; });
  for (const PutFailure& f : failures) {
    Fail("put " + f.path + " => " + FormatAisUri(dst.bucket, f.name) + ": " + f.status.message());
  }
  uint64_t ok_count = jobs.size() - failures.size();
  double secs = progress.seconds();
  if (ctx.json) {
    json failed = json::array();
    for (const PutFailure& f : failures) {
      failed.push_back({{"file", f.path}, {"name", f.name}, {"error", f.status.message()}});
    }
    PrintJson({{"bucket", FormatAisUri(dst.bucket)},
               {"prefix", prefix},
               {"objects", ok_count},
               {"bytes", progress.bytes()},
               {"seconds", secs},
               {"failed", failed}});
  } else {
    std::printf("Put %llu object%s (%s) to %s in %.1fs", static_cast<unsigned long long>(ok_count),
                ok_count == 1 ? "" : "s", FormatBytes(progress.bytes()).c_str(),
                FormatAisUri(dst.bucket, prefix).c_str(), secs);
    if (!failures.empty()) std::printf(", %zu failed", failures.size());
    std::printf("\n");
  }
  return failures.empty() ? kExitOk : kExitFailed;
}

int RunPut(const CliContext& ctx, const std::string& src, const std::string& dst_arg,
           bool recursive, int workers) {
  Result<AisUri> dst = ParseAisUri(dst_arg);
  if (!dst.ok()) return UsageError(dst.status().message());
  std::error_code ec;
  fs::file_status st = fs::status(src, ec);
  if (ec || !fs::exists(st)) return Fail(src + ": no such file or directory");
  if (fs::is_directory(st)) {
    if (!recursive) return UsageError(src + " is a directory (use --recursive to put its files)");
    return RunPutRecursive(ctx, src, *dst, workers);
  }
  if (!fs::is_regular_file(st)) return Fail(src + " is not a regular file");

  PutJob job;
  job.path = src;
  job.size = fs::file_size(src, ec);
  job.name = dst->object.empty()         ? BaseName(src)
             : dst->object.back() == '/' ? dst->object + BaseName(src)
                                         : dst->object;
  std::unique_ptr<Progress> progress;
  if (StderrIsTty(ctx) && job.size >= kSingleBarThreshold) {
    progress = std::make_unique<Progress>("PUT", 1, job.size, true);
  }
  ObjectAttrs attrs;
  Status s = PutOne(ctx.client, dst->bucket, job, progress.get(), &attrs);
  if (progress) progress->Finish();
  if (!s.ok()) return Fail(s);
  attrs.size = job.size;
  if (ctx.json) {
    json j = AttrsJson(dst->bucket, job.name, attrs);
    j["file"] = src;
    PrintJson(j);
  } else {
    std::printf("PUT \"%s\" => %s (%s)\n", src.c_str(), FormatAisUri(dst->bucket, job.name).c_str(),
                FormatBytes(job.size).c_str());
  }
  return kExitOk;
}

// ---- get / cat ----

// Streams an object to stdout (get -, cat).
int StreamToStdout(const CliContext& ctx, const AisUri& src) {
  Xxh64Stream hash;
  Result<ObjectAttrs> attrs =
      ctx.client->GetObject(src.bucket, src.object, [&](std::string_view c) {
        if (std::fwrite(c.data(), 1, c.size(), stdout) != c.size()) {
          return Status::FromErrno(errno, "write stdout");
        }
        hash.Update(c.data(), c.size());
        return Status::OK();
      });
  if (std::fflush(stdout) != 0 && attrs.ok()) return Fail(Status::FromErrno(errno, "write stdout"));
  if (!attrs.ok()) return Fail(attrs.status());
  if (Status s = VerifyChecksum(*attrs, hash, FormatAisUri(src.bucket, src.object)); !s.ok()) {
    return Fail(s);
  }
  return kExitOk;
}

int RunGetRecursive(const CliContext& ctx, const AisUri& src, const std::string& dest_dir,
                    int workers) {
  Result<std::vector<ObjectEntry>> entries = ListAll(ctx.client, src.bucket, src.object, 0);
  if (!entries.ok()) return Fail(entries.status());
  // Names lose the prefix's directory part, so `put DIR ais://b/p/` + `get ais://b/p/ DIR2`
  // reproduces DIR.
  size_t strip = src.object.rfind('/');
  strip = strip == std::string::npos ? 0 : strip + 1;

  struct GetJob {
    std::string name;
    std::string path;
    uint64_t size;
  };
  std::vector<GetJob> jobs;
  std::vector<std::string> errors;
  uint64_t total = 0;
  for (const ObjectEntry& e : *entries) {
    std::string rel = e.name.substr(strip);
    if (rel.empty() || rel.back() == '/') continue;  // directory markers
    if (Status s = ValidateObjectName(rel); !s.ok()) {
      errors.push_back("skipping " + FormatAisUri(src.bucket, e.name) +
                       ": not usable as a local path: " + s.message());
      continue;
    }
    jobs.push_back({e.name, (fs::path(dest_dir) / rel).string(), e.size});
    total += e.size;
  }

  Progress progress("GET", jobs.size(), total, StderrIsTty(ctx));
  std::mutex mu;
  ParallelFor(jobs.size(), workers, [&](size_t i) {
    const GetJob& job = jobs[i];
    std::error_code ec;
    fs::create_directories(fs::path(job.path).parent_path(), ec);
    Status s;
    if (ec) {
      s = Status::IOError("create directory " + fs::path(job.path).parent_path().string() + ": " +
                          ec.message());
    } else {
      s = DownloadToFile(ctx.client, src.bucket, job.name, job.path, &progress).status();
    }
    progress.ObjectDone(s.ok());
    if (!s.ok()) {
      std::lock_guard<std::mutex> lk(mu);
      errors.push_back("get " + FormatAisUri(src.bucket, job.name) + " => " + job.path + ": " +
                       s.message());
    }
  });
  progress.Finish();
  std::sort(errors.begin(), errors.end());
  for (const std::string& e : errors) Fail(e);
  uint64_t ok_count = progress.done();
  double secs = progress.seconds();
  if (ctx.json) {
    PrintJson({{"bucket", FormatAisUri(src.bucket)},
               {"prefix", src.object},
               {"directory", dest_dir},
               {"objects", ok_count},
               {"bytes", progress.bytes()},
               {"seconds", secs},
               {"errors", errors}});
  } else {
    std::printf("Got %llu object%s (%s) from %s to %s in %.1fs",
                static_cast<unsigned long long>(ok_count), ok_count == 1 ? "" : "s",
                FormatBytes(progress.bytes()).c_str(), FormatAisUri(src.bucket, src.object).c_str(),
                dest_dir.c_str(), secs);
    if (!errors.empty()) std::printf(", %zu error%s", errors.size(), errors.size() == 1 ? "" : "s");
    std::printf("\n");
  }
  return errors.empty() ? kExitOk : kExitFailed;
}

int RunGet(const CliContext& ctx, const std::string& src_arg, std::string dest, bool recursive,
           int workers) {
  Result<AisUri> src = ParseAisUri(src_arg);
  if (!src.ok()) return UsageError(src.status().message());
  if (recursive) return RunGetRecursive(ctx, *src, dest.empty() ? "." : dest, workers);
  if (src->object.empty() || src->object.back() == '/') {
    return UsageError("expected an object (ais://BUCKET/OBJECT), got \"" + src_arg +
                      "\" (use --recursive to get everything under a prefix)");
  }
  if (dest == "-") return StreamToStdout(ctx, *src);
  if (dest.empty()) dest = BaseName(src->object);
  std::error_code ec;
  if (fs::is_directory(dest, ec)) dest = (fs::path(dest) / BaseName(src->object)).string();

  // A HEAD first only to size the bar; skipped when no bar is shown.
  std::unique_ptr<Progress> progress;
  if (StderrIsTty(ctx)) {
    Result<ObjectAttrs> head = ctx.client->HeadObject(src->bucket, src->object);
    if (head.ok() && head->size && *head->size >= kSingleBarThreshold) {
      progress = std::make_unique<Progress>("GET", 1, *head->size, true);
    }
  }
  Result<uint64_t> n = DownloadToFile(ctx.client, src->bucket, src->object, dest, progress.get());
  if (progress) {
    progress->ObjectDone(n.ok());
    progress->Finish();
  }
  if (!n.ok()) return Fail(n.status());
  if (ctx.json) {
    PrintJson({{"bucket", FormatAisUri(src->bucket)},
               {"name", src->object},
               {"file", dest},
               {"size", *n}});
  } else {
    std::printf("GET %s => \"%s\" (%s)\n", FormatAisUri(src->bucket, src->object).c_str(),
                dest.c_str(), FormatBytes(*n).c_str());
  }
  return kExitOk;
}

int RunCat(const CliContext& ctx, const std::string& src_arg) {
  Result<AisUri> src = ParseAisUri(src_arg);
  if (!src.ok()) return UsageError(src.status().message());
  if (src->object.empty())
    return UsageError("expected ais://BUCKET/OBJECT, got \"" + src_arg + "\"");
  return StreamToStdout(ctx, *src);
}

// ---- head / ls / rm ----

std::string FormatAtime(const std::string& ns) {
  long long v = 0;
  if (std::sscanf(ns.c_str(), "%lld", &v) != 1 || v <= 0) return ns;
  time_t secs = static_cast<time_t>(v / 1'000'000'000);
  struct tm tm {};
  if (gmtime_r(&secs, &tm) == nullptr) return ns;
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int RunHead(const CliContext& ctx, const std::string& src_arg) {
  Result<AisUri> src = ParseAisUri(src_arg);
  if (!src.ok()) return UsageError(src.status().message());
  if (src->object.empty())
    return UsageError("expected ais://BUCKET/OBJECT, got \"" + src_arg + "\"");
  Result<ObjectAttrs> a = ctx.client->HeadObject(src->bucket, src->object);
  if (!a.ok()) return Fail(a.status());
  if (ctx.json) {
    PrintJson(AttrsJson(src->bucket, src->object, *a));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"PROPERTY", "VALUE"}};
  rows.push_back({"name", FormatAisUri(src->bucket, src->object)});
  if (a->size) rows.push_back({"size", std::to_string(*a->size)});
  if (!a->checksum_type.empty()) {
    rows.push_back({"checksum", a->checksum_type + ":" + a->checksum_value});
  }
  if (!a->version.empty()) rows.push_back({"version", a->version});
  if (!a->atime.empty()) rows.push_back({"atime", FormatAtime(a->atime)});
  if (!a->custom.empty()) {
    std::string custom;
    for (const auto& [k, v] : a->custom) custom += (custom.empty() ? "" : ", ") + k + "=" + v;
    rows.push_back({"custom", custom});
  }
  if (!a->location.empty()) rows.push_back({"location", a->location});
  PrintTable(rows);
  return kExitOk;
}

int RunLs(const CliContext& ctx, const std::string& src_arg, uint64_t limit, uint32_t page_size) {
  Result<AisUri> src = ParseAisUri(src_arg);
  if (!src.ok()) return UsageError(src.status().message());
  Result<std::vector<ObjectEntry>> entries =
      ListAll(ctx.client, src->bucket, src->object, limit, page_size);
  if (!entries.ok()) return Fail(entries.status());
  if (ctx.json) {
    json arr = json::array();
    for (const ObjectEntry& e : *entries) {
      json j = {{"name", e.name}, {"size", e.size}};
      if (!e.checksum.empty()) j["checksum"] = e.checksum;
      if (!e.atime.empty()) j["atime"] = e.atime;
      if (!e.version.empty()) j["version"] = e.version;
      arr.push_back(std::move(j));
    }
    PrintJson(arr);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "SIZE"}};
  for (const ObjectEntry& e : *entries) rows.push_back({e.name, std::to_string(e.size)});
  PrintTable(rows);
  return kExitOk;
}

int RunRm(const CliContext& ctx, const std::vector<std::string>& args) {
  std::vector<AisUri> uris;
  for (const std::string& arg : args) {
    Result<AisUri> u = ParseAisUri(arg);
    if (!u.ok()) return UsageError(u.status().message());
    if (u->object.empty()) return UsageError("expected ais://BUCKET/OBJECT, got \"" + arg + "\"");
    uris.push_back(std::move(*u));
  }
  int rc = kExitOk;
  json out = json::array();
  for (const AisUri& u : uris) {
    std::string name = FormatAisUri(u.bucket, u.object);
    if (Status s = ctx.client->DeleteObject(u.bucket, u.object); !s.ok()) {
      rc = Fail(s);
      out.push_back({{"object", name}, {"deleted", false}, {"error", s.message()}});
      continue;
    }
    out.push_back({{"object", name}, {"deleted", true}});
    if (!ctx.json) std::printf("Deleted %s\n", name.c_str());
  }
  if (ctx.json) PrintJson(uris.size() == 1 ? out[0] : out);
  return rc;
}

}  // namespace

void RegisterObjectCommands(CLI::App* app, CliContext* ctx, Action* action) {
  CLI::App* object = app->add_subcommand("object", "Put, get, list and delete objects");
  object->require_subcommand(1);

  struct Opts {
    std::string src, dst;
    std::vector<std::string> srcs;
    bool recursive = false;
    int workers = 4;
    uint64_t limit = 0;
    uint32_t page_size = 0;
    std::string templ;  // rm: a delete-listrange job over a template or --list
    std::vector<std::string> list;
    bool coer = false, wait = false;
  };
  auto workers_check = CLI::Range(1, 256);

  auto put = std::make_shared<Opts>();
  CLI::App* put_cmd =
      object->add_subcommand("put", "Upload a file, or a directory with --recursive");
  put_cmd->add_option("SOURCE", put->src, "File or directory")->required();
  put_cmd
      ->add_option("DESTINATION", put->dst,
                   "ais://BUCKET[/NAME], or ais://BUCKET/PREFIX/ (file name appended)")
      ->required();
  put_cmd->add_flag("-r,--recursive", put->recursive, "Upload every file under the directory");
  put_cmd->add_option("-w,--workers", put->workers, "Parallel transfers")
      ->check(workers_check)
      ->capture_default_str();
  put_cmd->callback([=] {
    *action = [=] { return RunPut(*ctx, put->src, put->dst, put->recursive, put->workers); };
  });

  auto get = std::make_shared<Opts>();
  CLI::App* get_cmd = object->add_subcommand(
      "get", "Download an object to FILE ('-' = stdout), or a prefix to DIR with --recursive");
  get_cmd->add_option("SOURCE", get->src, "ais://BUCKET/OBJECT, or ais://BUCKET[/PREFIX]")
      ->required();
  get_cmd->add_option("DESTINATION", get->dst,
                      "File, directory or '-' (default: the object's base name / '.')");
  get_cmd->add_flag("-r,--recursive", get->recursive, "Download every object under the prefix");
  get_cmd->add_option("-w,--workers", get->workers, "Parallel transfers")
      ->check(workers_check)
      ->capture_default_str();
  get_cmd->callback([=] {
    *action = [=] { return RunGet(*ctx, get->src, get->dst, get->recursive, get->workers); };
  });

  auto cat = std::make_shared<Opts>();
  CLI::App* cat_cmd = object->add_subcommand("cat", "Write an object to stdout");
  cat_cmd->add_option("OBJECT", cat->src, "ais://BUCKET/OBJECT")->required();
  cat_cmd->callback([=] { *action = [=] { return RunCat(*ctx, cat->src); }; });

  auto head = std::make_shared<Opts>();
  CLI::App* head_cmd = object->add_subcommand("head", "Show object properties");
  head_cmd->alias("show");
  head_cmd->add_option("OBJECT", head->src, "ais://BUCKET/OBJECT")->required();
  head_cmd->callback([=] { *action = [=] { return RunHead(*ctx, head->src); }; });

  auto ls = std::make_shared<Opts>();
  CLI::App* ls_cmd = object->add_subcommand("ls", "List objects (NAME SIZE)");
  ls_cmd->alias("list");
  ls_cmd->add_option("BUCKET", ls->src, "ais://BUCKET[/PREFIX]")->required();
  ls_cmd->add_option("--limit", ls->limit, "List at most N objects (0 = all)");
  ls_cmd->add_option("--page-size", ls->page_size, "Objects per request (0 = server default)")
      ->check(CLI::Range(0, 10000));
  ls_cmd->callback(
      [=] { *action = [=] { return RunLs(*ctx, ls->src, ls->limit, ls->page_size); }; });

  auto rm = std::make_shared<Opts>();
  CLI::App* rm_cmd = object->add_subcommand("rm", "Delete objects");
  rm_cmd->alias("delete");
  rm_cmd
      ->add_option("OBJECT", rm->srcs,
                   "ais://BUCKET/OBJECT ... (ais://BUCKET with --template/--list)")
      ->required();
  rm_cmd->add_option("--template", rm->templ,
                     "Delete the objects a template names, e.g. 'x-{0000..0999}' (one job)");
  rm_cmd->add_option("--list", rm->list, "Delete these objects, comma-separated (one job)")
      ->delimiter(',');
  rm_cmd->add_flag("--continue-on-error", rm->coer, "With --template/--list: skip missing ones");
  rm_cmd->add_flag("--wait", rm->wait, "With --template/--list: wait for the job");
  rm_cmd->callback([=] {
    *action = [=] {
      if (rm->templ.empty() && rm->list.empty()) return RunRm(*ctx, rm->srcs);
      if (rm->srcs.size() != 1) return UsageError("--template/--list take one ais://BUCKET");
      return RunDeleteRange(*ctx, rm->srcs[0], rm->templ, rm->list, rm->coer, rm->wait);
    };
  });

  RegisterGetBatch(object, ctx, action);
}

}  // namespace aisle::cli
