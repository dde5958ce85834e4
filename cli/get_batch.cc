// aisle object get-batch: many objects and shard members in one archive (AIStore's GetBatch,
// GET /v1/ml/moss/BUCKET), written to a file or extracted into a directory.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "cli/ais_client.h"
#include "cli/commands.h"
#include "cli/uri.h"
#include "common/archive/index_builder.h"
#include "common/archive/member_reader.h"
#include "common/archive/shard_index.h"
#include "common/archive/source.h"
#include "common/fd_io.h"
#include "common/name_template.h"
#include "common/net/http_client.h"

namespace aisle::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct BatchOpts {
  std::string bucket, list, templ, mime, output, output_dir, etl, etl_args;
  bool coer = false;
};

// "shard.tar/dir/file" names a member; other names are whole objects.
json Entry(const std::string& name) {
  for (size_t p = name.find('/'); p != std::string::npos; p = name.find('/', p + 1)) {
    if (!archive::ShardExtension(name.substr(0, p)).empty() && p + 1 < name.size())
      return {{"objname", name.substr(0, p)}, {"archpath", name.substr(p + 1)}};
  }
  return {{"objname", name}};
}

// Extracts every file member of the archive at `path` under `dir` (unsafe names refused).
Status Extract(const std::string& path, const std::string& dir, size_t* count) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  uint64_t size = static_cast<uint64_t>(::lseek(fd, 0, SEEK_END));
  archive::FdSource src(fd, 0, size);
  AISLE_ASSIGN_OR_RETURN(archive::Format fmt, archive::DetectFormat(src));
  archive::Limits limits;
  AISLE_ASSIGN_OR_RETURN(archive::ShardIndex idx, archive::BuildIndex(src, fmt, limits));
  for (const archive::Member& m : idx.members) {
    if (m.type != archive::MemberType::kFile) continue;
    if (uint8_t f = archive::CheckMemberName(m.name))
      return Status::InvalidArgument("refusing to extract member \"" + m.name + "\" (" +
                                     archive::DescribeNameFlags(f) + ")");
    fs::path out = fs::path(dir) / m.name;
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    if (ec) return Status::IOError("mkdir " + out.parent_path().string() + ": " + ec.message());
    int ofd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (ofd < 0) return Status::FromErrno(errno, "open " + out.string());
    Status st = archive::ReadMember(
        src, idx, m, 0, m.size, [ofd](std::string_view b) { return WriteAll(ofd, b, "member"); },
        limits);
    ::close(ofd);
    AISLE_RETURN_IF_ERROR(st);
    ++*count;
  }
  return Status::OK();
}

int RunGetBatch(const CliContext& ctx, const BatchOpts& o) {
  auto bucket = ParseBucketArg(o.bucket);
  if (!bucket.ok()) return UsageError(bucket.status().message());
  if (o.list.empty() == o.templ.empty())
    return UsageError("give exactly one of --list, --template");
  if (o.output.empty() == o.output_dir.empty())
    return UsageError("give exactly one of --output, --output-dir");
  std::vector<std::string> names;
  if (!o.list.empty()) {
    std::ifstream in(o.list);
    if (!in) return Fail(Status::FromErrno(errno, "open " + o.list));
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) names.push_back(line);
    }
  } else {
    // A template without a range names one object here (not a prefix: GetBatch lists nothing).
    auto t = ParseNameTemplate(o.templ);
    if (!t.ok()) return UsageError(t.status().message());
    t->ForEach([&](const std::string& n) {
      names.push_back(n);
      return true;
    });
  }
  if (names.empty()) return UsageError("the list names no objects");
  json req = {{"in", json::array()}, {"mime", o.mime}, {"coer", o.coer}, {"strm", true}};
  if (!o.etl.empty()) req["etl_name"] = o.etl;  // Aisle extension
  if (!o.etl_args.empty()) req["etl_args"] = o.etl_args;
  for (const auto& n : names) req["in"].push_back(Entry(n));

  std::string path = o.output;
  if (!o.output_dir.empty()) {
    std::error_code ec;
    fs::create_directories(o.output_dir, ec);
    if (ec) return Fail("mkdir " + o.output_dir + ": " + ec.message());
    path = (fs::path(o.output_dir) / (".aisle-batch-" + std::to_string(::getpid()))).string();
  }
  int fd = STDOUT_FILENO;
  std::string tmp;
  if (path != "-") {
    tmp = path + ".aisle-tmp-" + std::to_string(::getpid());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(Status::FromErrno(errno, "open " + tmp));
  }
  HttpRequest r;
  r.method = "GET";
  r.url = ctx.endpoint + "/v1/ml/moss/" + EscapeComponent(*bucket);
  r.headers = {{"Content-Type", "application/json"}};
  r.body = req.dump();
  r.on_body = [fd](std::string_view b) { return WriteAll(fd, b, "output"); };
  auto resp = ctx.cluster->Do(r);
  if (fd != STDOUT_FILENO) ::close(fd);
  Status st = resp.status();
  if (st.ok() && (resp->status < 200 || resp->status >= 300))
    st = StatusFromHttpError(*resp, "GET");
  if (st.ok() && !tmp.empty() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = Status::FromErrno(errno, "rename " + path);
  if (!st.ok()) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return Fail(st);
  }
  if (!o.output_dir.empty()) {
    size_t count = 0;
    st = Extract(path, o.output_dir, &count);
    ::unlink(path.c_str());
    if (!st.ok()) return Fail(st);
    if (!ctx.json) std::printf("Extracted %zu files to %s\n", count, o.output_dir.c_str());
  } else if (path != "-" && !ctx.json) {
    std::printf("Wrote %zu entries to %s\n", names.size(), path.c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterGetBatch(CLI::App* object, CliContext* ctx, Action* action) {
  auto o = std::make_shared<BatchOpts>();
  CLI::App* cmd = object->add_subcommand(
      "get-batch", "Get many objects and shard members as one archive (AIStore's GetBatch)");
  cmd->add_option("BUCKET", o->bucket, "ais://BUCKET")->required();
  cmd->add_option("--list", o->list,
                  "File of names, one per line (SHARD.tar/MEMBER names a shard member)");
  cmd->add_option("--template", o->templ, "Brace template of names: shard-{0000..0099}.tar");
  cmd->add_option("--mime", o->mime,
                  "Archive format: .tar (default), .tgz, .zip, .tar.lz4, .tar.zst");
  cmd->add_flag("--coer", o->coer, "Continue on error: missing names become empty __404__/ files");
  cmd->add_option("--etl", o->etl, "Transform every file with this ETL (Aisle extension)");
  cmd->add_option("--etl-args", o->etl_args, "Arguments for --etl (as GET ?etl_args=)");
  cmd->add_option("--output", o->output, "Archive file to write ('-' = stdout)");
  cmd->add_option("--output-dir", o->output_dir, "Directory to extract the files into");
  cmd->callback([=] { *action = [=] { return RunGetBatch(*ctx, *o); }; });
}

}  // namespace aisle::cli
