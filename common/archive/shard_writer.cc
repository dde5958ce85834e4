#include "common/archive/shard_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <string>

#include "common/archive/utf8_locale.h"

namespace aisle::archive {

struct ShardWriter::Impl {
  ::archive* a = nullptr;
  ByteSink sink;
  Status error;
  uint64_t* bytes_out = nullptr;
  bool finished = false;
  ~Impl() {
    if (a) archive_write_free(a);
  }
  Status Fail(const char* step) {
    if (!error.ok()) return error;
    const char* msg = archive_error_string(a);
    return Status::Internal(std::string("archive write (") + step + "): " + (msg ? msg : "error"));
  }
};

namespace {

la_ssize_t WriteCb(struct archive* a, void* data, const void* buf, size_t n) {
  auto* impl = static_cast<ShardWriter::Impl*>(data);
  try {
    Status st = impl->sink(std::string_view(static_cast<const char*>(buf), n));
    if (!st.ok()) {
      impl->error = st;
      archive_set_error(a, EIO, "%s", st.message().c_str());
      return -1;
    }
    *impl->bytes_out += n;
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    impl->error = Status::Internal("out of memory while writing the archive");
    archive_set_error(a, ENOMEM, "out of memory");
    return -1;
  }
}

}  // namespace

ShardWriter::~ShardWriter() = default;

Result<std::unique_ptr<ShardWriter>> ShardWriter::Open(Format format, ByteSink sink) {
  EnsureUtf8Locale();
  std::unique_ptr<ShardWriter> w(new ShardWriter());
  w->impl_ = std::make_unique<Impl>();
  Impl& impl = *w->impl_;
  impl.sink = std::move(sink);
  impl.bytes_out = &w->bytes_out_;
  impl.a = archive_write_new();
  if (!impl.a) return Status::Internal("archive_write_new failed");
  int rc = ARCHIVE_OK;
  switch (format) {
    case Format::kTar: rc = archive_write_set_format_pax_restricted(impl.a); break;
    case Format::kTgz:
      rc = archive_write_set_format_pax_restricted(impl.a);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_gzip(impl.a);
      break;
    case Format::kTarLz4:
      rc = archive_write_set_format_pax_restricted(impl.a);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_lz4(impl.a);
      break;
    case Format::kTarZst:
      rc = archive_write_set_format_pax_restricted(impl.a);
      if (rc == ARCHIVE_OK) rc = archive_write_add_filter_zstd(impl.a);
      break;
    case Format::kZip: rc = archive_write_set_format_zip(impl.a); break;
    default: return Status::InvalidArgument("unknown archive format");
  }
  if (rc != ARCHIVE_OK) return impl.Fail("format");
  archive_write_set_bytes_in_last_block(impl.a, 1);  // no padding to 10 KiB records
  if (archive_write_open2(impl.a, &impl, nullptr, WriteCb, nullptr, nullptr) != ARCHIVE_OK)
    return impl.Fail("open");
  return w;
}

Status ShardWriter::Add(const std::string& name, uint64_t size, uint32_t mode, int64_t mtime,
                        const MemberSource& data) {
  EnsureUtf8Locale();  // Add may run on another thread than Open
  Impl& impl = *impl_;
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname_utf8(e.get(), name.c_str());
  // Writers dereference the locale form of the name; refuse what cannot be converted.
  if (name.find('\0') != std::string::npos || archive_entry_pathname(e.get()) == nullptr)
    return Status::InvalidArgument("member name \"" + name + "\" is not valid UTF-8");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), mode ? mode : 0644);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e.get(), mtime, 0);
  if (archive_write_header(impl.a, e.get()) != ARCHIVE_OK) return impl.Fail("header");
  std::string buf(256 << 10, '\0');
  uint64_t left = size;
  while (left > 0) {
    AISLE_ASSIGN_OR_RETURN(size_t n, data(buf.data(), std::min<uint64_t>(left, buf.size())));
    if (n == 0) return Status::InvalidArgument(name + ": source shorter than its size");
    if (archive_write_data(impl.a, buf.data(), n) < 0) return impl.Fail("data");
    left -= n;
  }
  return Status::OK();
}

Status ShardWriter::Finish() {
  if (impl_->finished) return Status::OK();
  impl_->finished = true;
  if (archive_write_close(impl_->a) != ARCHIVE_OK) return impl_->Fail("close");
  return Status::OK();
}

}  // namespace aisle::archive
