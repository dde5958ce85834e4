#include "common/net/http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "common/text.h"

namespace aisle {
namespace {

// Bodies at least this big (or of unknown size) ask for 100-continue, so a redirect or an
// error arrives before the body is sent.
constexpr uint64_t kExpectContinueThreshold = 64 * 1024;
// Error bodies are small JSON; cap them when the caller streams the success body elsewhere.
constexpr size_t kMaxCollectedErrorBody = 1 << 20;
constexpr size_t kMaxIdleHandles = 16;

// A request body that can be read and, when possible, rewound to the start.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Moves to `offset`; false when the source cannot go there.
  virtual bool SeekTo(uint64_t offset) = 0;
  virtual std::optional<uint64_t> Size() const = 0;
  uint64_t position() const { return pos_; }

 protected:
  uint64_t pos_ = 0;
};

class StringSource : public BodySource {
 public:
  explicit StringSource(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min<uint64_t>(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  bool SeekTo(uint64_t offset) override {
    if (offset > data_.size()) return false;
    pos_ = offset;
    return true;
  }
  std::optional<uint64_t> Size() const override { return data_.size(); }

 private:
  std::string_view data_;
};

class FileSource : public BodySource {
 public:
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      Status s = Status::FromErrno(errno, "stat " + path);
      ::close(fd);
      return s;
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return Status::InvalidArgument(path + " is not a regular file");
    }
    return std::unique_ptr<FileSource>(new FileSource(fd, path, st.st_size));
  }
  ~FileSource() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t n) override {
    for (;;) {
      ssize_t k = ::pread(fd_, buf, n, static_cast<off_t>(pos_));
      if (k >= 0) {
        pos_ += k;
        return static_cast<size_t>(k);
      }
      if (errno != EINTR) return Status::FromErrno(errno, "read " + path_);
    }
  }
  bool SeekTo(uint64_t offset) override {
    pos_ = offset;
    return true;
  }
  std::optional<uint64_t> Size() const override { return size_; }

 private:
  FileSource(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  int fd_;
  std::string path_;
  uint64_t size_;
};

class ReaderSource : public BodySource {
 public:
  explicit ReaderSource(BodyReader* r) : r_(r) {}
  Result<size_t> Read(char* buf, size_t n) override {
    AISLE_ASSIGN_OR_RETURN(size_t k, r_->Read(buf, n));
    pos_ += k;
    return k;
  }
  // A stream can only "rewind" if nothing was taken from it yet.
  bool SeekTo(uint64_t offset) override { return offset == pos_ && pos_ == 0; }
  std::optional<uint64_t> Size() const override { return r_->DeclaredLength(); }

 private:
  BodyReader* r_;
};

bool MethodHasImplicitBody(std::string_view m) { return m == "PUT" || m == "POST" || m == "PATCH"; }

bool IsIdempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS";
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// State of one HTTP exchange (one hop of one attempt), shared with the curl callbacks.
struct Exchange {
  const HttpRequest* req = nullptr;
  BodySource* src = nullptr;
  HttpResponse resp;
  Status cb_status;        // the first error raised inside a callback
  bool delivered = false;  // response bytes went to on_body: the attempt cannot be repeated

  bool DiscardBody() const {
    return req->follow_redirects && IsRedirect(resp.status) && resp.Header("Location");
  }
};

size_t HeaderCallback(char* p, size_t size, size_t n, void* ud) {
  auto* ex = static_cast<Exchange*>(ud);
  std::string_view line(p, size * n);
  try {
    if (line.starts_with("HTTP/")) {
      // A new response (a 100 Continue may come first): forget the previous one's headers.
      ex->resp.headers.clear();
      ex->resp.status = 0;
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        int code = 0;
        for (size_t i = sp + 1; i < line.size() && i < sp + 4; ++i) {
          if (line[i] < '0' || line[i] > '9') break;
          code = code * 10 + (line[i] - '0');
        }
        ex->resp.status = code;
      }
    } else {
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        ex->resp.headers.emplace_back(std::string(TrimSpace(line.substr(0, colon))),
                                      std::string(TrimSpace(line.substr(colon + 1))));
      }
    }
  } catch (...) {
    ex->cb_status = Status::Internal("out of memory parsing response headers");
    return 0;
  }
  return size * n;
}

size_t WriteCallback(char* p, size_t size, size_t n, void* ud) {
  auto* ex = static_cast<Exchange*>(ud);
  size_t total = size * n;
  try {
    if (ex->DiscardBody()) return total;
    bool success = ex->resp.status >= 200 && ex->resp.status < 300;
    if (ex->req->on_body && success) {
      Status st = ex->req->on_body(std::string_view(p, total));
      ex->delivered = true;
      if (!st.ok()) {
        ex->cb_status = std::move(st);
        return 0;
      }
      return total;
    }
    if (ex->req->on_body && ex->resp.body.size() >= kMaxCollectedErrorBody) return total;
    ex->resp.body.append(p, total);
  } catch (const std::exception& e) {
    ex->cb_status = Status::Internal(std::string("response body handler: ") + e.what());
    return 0;
  } catch (...) {
    ex->cb_status = Status::Internal("response body handler threw");
    return 0;
  }
  return total;
}

size_t ReadCallback(char* buf, size_t size, size_t n, void* ud) {
  auto* ex = static_cast<Exchange*>(ud);
  try {
    Result<size_t> r = ex->src->Read(buf, size * n);
    if (!r.ok()) {
      ex->cb_status = r.status();
      return CURL_READFUNC_ABORT;
    }
    if (ex->req->on_upload_progress) ex->req->on_upload_progress(ex->src->position());
    return *r;
  } catch (...) {
    ex->cb_status = Status::Internal("request body reader threw");
    return CURL_READFUNC_ABORT;
  }
}

// libcurl rewinds the body when it re-sends a request on a fresh connection.
int SeekCallback(void* ud, curl_off_t offset, int origin) {
  auto* ex = static_cast<Exchange*>(ud);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  return ex->src->SeekTo(static_cast<uint64_t>(offset)) ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
}

Status TransportError(CURLcode code, const char* errbuf, const std::string& method,
                      const std::string& url) {
  // curl's error buffer is the more specific text when it has one.
  std::string msg = method + " " + url + ": " +
                    (errbuf[0] != '\0' ? std::string(TrimSpace(errbuf)) : curl_easy_strerror(code));
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return Status::Timeout(std::move(msg));
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return Status::InvalidArgument(std::move(msg));
    default: return Status::Unavailable(std::move(msg));
  }
}

bool RetryableTransport(CURLcode code, std::string_view method) {
  if (code == CURLE_COULDNT_CONNECT) return true;  // nothing was sent
  bool broken = code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING;
  return broken && IsIdempotent(method);
}

std::chrono::milliseconds Backoff(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  int64_t base = std::min<int64_t>(100LL << std::min(attempt, 5), 2000);
  std::uniform_int_distribution<int64_t> jitter(0, base / 2);
  return std::chrono::milliseconds(base + jitter(rng));
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) out.push_back(v);
  }
  return out;
}

struct HttpClient::Impl {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> default_headers;  // set before sharing
  TlsClientOptions tls;                                              // set before sharing
  std::vector<CURL*> idle;  // easy handles keep their connections alive between requests
  CURLSH* share = nullptr;  // DNS cache only: libcurl does not support sharing connections
                            // between concurrently running threads
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;

  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* h) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (idle.size() < kMaxIdleHandles) {
        idle.push_back(h);
        return;
      }
    }
    curl_easy_cleanup(h);
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* ud) {
    static_cast<Impl*>(ud)->share_locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* ud) {
    static_cast<Impl*>(ud)->share_locks[data].unlock();
  }

  // One request/response on `h`, no redirect following. Transport errors are returned as
  // CURLcode so the caller can decide about retries.
  CURLcode Perform(CURL* h, Exchange* ex, const std::string& method, const std::string& url,
                   char* errbuf, std::string* redirect_url);
};

CURLcode HttpClient::Impl::Perform(CURL* h, Exchange* ex, const std::string& method,
                                   const std::string& url, char* errbuf,
                                   std::string* redirect_url) {
  const HttpRequest& req = *ex->req;
  curl_easy_reset(h);
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_SHARE, share);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // we follow, to keep method + body
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  // Bigger receive chunks: fewer recv calls and body callbacks on multi-MiB range GETs (a
  // FUSE sequential read spent a third less CPU than with the 16 KiB default).
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &HeaderCallback);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, ex);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteCallback);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, ex);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(req.low_speed_bytes));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.low_speed_time.count()));
  // https: verify the server against the CA file (or the system's) and its host name.
  curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.empty() ? nullptr : tls.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, tls.skip_verify ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, tls.skip_verify ? 0L : 2L);
  if (!tls.cert_file.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert_file.c_str());
    curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key_file.c_str());
  }

  Slist headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  bool user_expect = false;
  for (const auto& [k, v] : req.headers) {
    if (IEquals(k, "Expect")) user_expect = true;
    // "Name;" is curl's way to send a header with an empty value.
    add_header(v.empty() ? k + ";" : k + ": " + v);
  }
  for (const auto& [k, v] : default_headers) {
    bool own = false;
    for (const auto& h : req.headers) own = own || IEquals(h.first, k);
    if (!own) add_header(k + ": " + v);
  }

  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (ex->src != nullptr) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadCallback);
    curl_easy_setopt(h, CURLOPT_READDATA, ex);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &SeekCallback);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, ex);
    std::optional<uint64_t> size = ex->src->Size();
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                     size ? static_cast<curl_off_t>(*size) : static_cast<curl_off_t>(-1));
    if (method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!user_expect) {
      add_header(!size || *size >= kExpectContinueThreshold ? "Expect: 100-continue" : "Expect:");
    }
  } else if (method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  CURLcode code = curl_easy_perform(h);
  char* eff = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != nullptr) {
    ex->resp.effective_url = eff;
  } else {
    ex->resp.effective_url = url;
  }
  char* loc = nullptr;
  redirect_url->clear();
  if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != nullptr) {
    *redirect_url = loc;  // already resolved against the request URL
  }
  // Detach caller-owned memory before the handle goes back to the pool.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  return code;
}

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->share = curl_share_init();
  if (impl_->share != nullptr) {
    curl_share_setopt(impl_->share, CURLSHOPT_LOCKFUNC, &Impl::Lock);
    curl_share_setopt(impl_->share, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
    curl_share_setopt(impl_->share, CURLSHOPT_USERDATA, impl_.get());
    curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  }
}

HttpClient::~HttpClient() {
  for (CURL* h : impl_->idle) curl_easy_cleanup(h);
  if (impl_->share != nullptr) curl_share_cleanup(impl_->share);
}

void HttpClient::SetDefaultHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  impl_->default_headers = std::move(headers);
}

void HttpClient::SetTls(TlsClientOptions tls) { impl_->tls = std::move(tls); }

const TlsClientOptions& HttpClient::tls() const { return impl_->tls; }

Result<HttpResponse> HttpClient::Do(const HttpRequest& req) {
  std::unique_ptr<BodySource> src;
  if (const auto* s = std::get_if<std::string>(&req.body)) {
    src = std::make_unique<StringSource>(*s);
  } else if (const auto* f = std::get_if<FileBody>(&req.body)) {
    AISLE_ASSIGN_OR_RETURN(src, FileSource::Open(f->path));
  } else if (auto* const* r = std::get_if<BodyReader*>(&req.body)) {
    if (*r == nullptr) return Status::InvalidArgument("HttpRequest body reader is null");
    src = std::make_unique<ReaderSource>(*r);
  } else if (MethodHasImplicitBody(req.method)) {
    src = std::make_unique<StringSource>(std::string_view());  // sends Content-Length: 0
  }

  CURL* h = impl_->Acquire();
  if (h == nullptr) return Status::Internal("curl_easy_init failed");
  struct Returner {
    Impl* impl;
    CURL* h;
    ~Returner() { impl->Release(h); }
  } returner{impl_.get(), h};

  std::string method = req.method;
  std::string url = req.url;
  char errbuf[CURL_ERROR_SIZE];
  std::string redirect_url;
  for (int hop = 0;; ++hop) {
    Exchange ex;
    for (int attempt = 0;; ++attempt) {
      ex = Exchange{};
      ex.req = &req;
      ex.src = src.get();
      if (src && !src->SeekTo(0)) {
        return Status::Unsupported(method + " " + url +
                                   ": cannot re-send a streamed request body that was "
                                   "already partly sent");
      }
      CURLcode code = impl_->Perform(h, &ex, method, url, errbuf, &redirect_url);
      bool can_repeat = !ex.delivered && (!src || src->SeekTo(0));
      bool retry = false;
      if (code != CURLE_OK) {
        if (!ex.cb_status.ok()) return ex.cb_status;
        if (!(RetryableTransport(code, method) && can_repeat && attempt < req.max_retries)) {
          return TransportError(code, errbuf, method, url);
        }
        retry = true;
      } else if (ex.resp.status == 503 && can_repeat && attempt < req.max_retries) {
        retry = true;
      }
      if (!retry) break;
      std::this_thread::sleep_for(Backoff(attempt));
    }

    if (!(req.follow_redirects && IsRedirect(ex.resp.status) && !redirect_url.empty())) {
      return std::move(ex.resp);
    }
    if (hop + 1 > req.max_redirects) {
      return Status::Unavailable(method + " " + req.url + ": more than " +
                                 std::to_string(req.max_redirects) + " redirects");
    }
    url = redirect_url;
    if (ex.resp.status == 303 && method != "HEAD") {
      method = "GET";
      src.reset();
    }
  }
}

namespace {

std::string Escape(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace

std::string EscapePath(std::string_view s) { return Escape(s, true); }
std::string EscapeComponent(std::string_view s) { return Escape(s, false); }

}  // namespace aisle
