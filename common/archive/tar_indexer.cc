// Tar indexing through libarchive. The tar stream comes from the source directly (plain tar,
// with a skip callback so member data is never read) or from a StreamDecoder that records seek
// points. After archive_read_next_header, libarchive's consumed position of the tar stream
// (archive_filter_bytes(a, 0)) is exactly the member's data offset.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>
#include <string>

#include "common/archive/index_builder.h"
#include "common/archive/stream_decoder.h"
#include "common/archive/utf8_locale.h"

namespace aisle::archive {
namespace {

constexpr size_t kBlock = 256 << 10;

struct TarFeed {
  const RandomAccessSource* src = nullptr;
  StreamDecoder* decoder = nullptr;  // null: plain tar
  uint64_t pos = 0;
  std::string buf = std::string(kBlock, '\0');
  Status error;
};

la_ssize_t ReadCb(struct archive* a, void* data, const void** out) {
  auto* f = static_cast<TarFeed*>(data);
  try {
    Result<size_t> n = f->decoder ? f->decoder->Read(f->buf.data(), f->buf.size())
                                  : f->src->ReadAt(f->pos, f->buf.data(), f->buf.size());
    if (!n.ok()) {
      f->error = n.status();
      archive_set_error(a, EIO, "%s", f->error.message().c_str());
      return -1;
    }
    f->pos += *n;
    *out = f->buf.data();
    return static_cast<la_ssize_t>(*n);
  } catch (...) {
    f->error = Status::Internal("out of memory while reading the archive");
    archive_set_error(a, ENOMEM, "out of memory");
    return -1;
  }
}

la_int64_t SkipCb(struct archive*, void* data, la_int64_t request) {
  auto* f = static_cast<TarFeed*>(data);
  if (f->decoder || request <= 0) return 0;  // compressed: libarchive reads through instead
  uint64_t left = f->src->Size() > f->pos ? f->src->Size() - f->pos : 0;
  uint64_t n = std::min<uint64_t>(static_cast<uint64_t>(request), left);
  f->pos += n;
  return static_cast<la_int64_t>(n);
}

MemberType TypeOf(archive_entry* e) {
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return archive_entry_hardlink(e) ? MemberType::kHardlink : MemberType::kFile;
    case AE_IFDIR: return MemberType::kDir;
    case AE_IFLNK: return MemberType::kSymlink;
    default: return MemberType::kOther;
  }
}

}  // namespace

Result<ShardIndex> BuildTarIndex(const RandomAccessSource& src, Format format,
                                 const Limits& limits) {
  EnsureUtf8Locale();
  ShardIndex idx;
  idx.format = format;
  TarFeed feed;
  feed.src = &src;
  std::unique_ptr<StreamDecoder> decoder;
  if (IsCompressedTar(format)) {
    AISLE_ASSIGN_OR_RETURN(decoder, StreamDecoder::Open(format, &src, nullptr, true, limits));
    feed.decoder = decoder.get();
  }
  std::unique_ptr<::archive, int (*)(::archive*)> a(archive_read_new(), archive_read_free);
  if (!a) return Status::Internal("archive_read_new failed");
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  archive_read_set_read_callback(a.get(), ReadCb);
  archive_read_set_skip_callback(a.get(), SkipCb);
  archive_read_set_callback_data(a.get(), &feed);
  auto fail = [&](const char* step) -> Status {
    if (!feed.error.ok()) return feed.error;
    const char* msg = archive_error_string(a.get());
    return Status::InvalidArgument(std::string("corrupt tar archive (") + step +
                                   "): " + (msg ? msg : "unknown error"));
  };
  if (archive_read_open1(a.get()) != ARCHIVE_OK) return fail("open");
  uint64_t end = 0;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      // An empty stream is a valid empty archive; a stream ending mid-header is not.
      if (idx.members.empty() && src.Size() == 0) break;
      return fail("header");
    }
    if (idx.members.size() >= limits.max_members)
      return Status::InvalidArgument("archive has more than " + std::to_string(limits.max_members) +
                                     " members (limit)");
    Member m;
    const char* name = archive_entry_pathname(e);
    if (!name) name = archive_entry_pathname_utf8(e);
    m.name = name ? name : "";
    if (m.name.size() > limits.max_name_len)
      return Status::InvalidArgument("member name longer than " +
                                     std::to_string(limits.max_name_len) + " bytes (limit)");
    m.header_offset = static_cast<uint64_t>(archive_read_header_position(a.get()));
    m.offset = static_cast<uint64_t>(archive_filter_bytes(a.get(), 0));
    m.type = TypeOf(e);
    m.size = archive_entry_size_is_set(e) ? static_cast<uint64_t>(archive_entry_size(e)) : 0;
    if (m.type != MemberType::kFile) m.size = 0;
    m.csize = m.size;
    m.mode = archive_entry_perm(e);
    m.mtime = archive_entry_mtime(e);
    m.name_flags = CheckMemberName(m.name);
    if (archive_entry_sparse_count(e) > 0)
      return Status::Unsupported("sparse tar members are not supported (" + m.name + ")");
    end = std::max(end, m.offset + ((m.size + 511) / 512) * 512);
    idx.members.push_back(std::move(m));
    if (decoder && archive_read_data_skip(a.get()) != ARCHIVE_OK) return fail("data");
  }
  if (!decoder && end > src.Size())
    return Status::InvalidArgument("corrupt tar archive: last member runs past the end (" +
                                   std::to_string(end) + " > " + std::to_string(src.Size()) + ")");
  idx.end_of_entries = end;
  if (decoder) {
    // Drain the rest so truncation after the last member is noticed and the length is known.
    char buf[64 << 10];
    for (;;) {
      AISLE_ASSIGN_OR_RETURN(size_t n, decoder->Read(buf, sizeof buf));
      if (n == 0) break;
    }
    idx.stream_size = decoder->out_pos();
    idx.points = decoder->TakePoints();
    if (end > idx.stream_size)
      return Status::InvalidArgument("corrupt tar archive: last member runs past the end");
  } else {
    idx.stream_size = src.Size();
  }
  idx.Finalize();
  return idx;
}

}  // namespace aisle::archive
