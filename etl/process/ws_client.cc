// The only translation unit that includes Boost.Beast.
#include "etl/process/ws_client.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <mutex>

namespace aisle::etl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

struct WsClient::Impl {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  std::mutex fd_mu;
  int fd = -1;  // the socket's descriptor while open (for Interrupt)
  bool interrupted = false;
  bool healthy = false;

  Status Fail(const char* what, const beast::error_code& ec) {
    healthy = false;
    bool intr;
    {
      std::lock_guard lock(fd_mu);
      intr = interrupted;
    }
    std::string msg = std::string("websocket ") + what + ": " + ec.message();
    if (ec == websocket::error::message_too_big) return Status::TooLarge(msg);
    if (intr) return Status::Timeout(std::string("websocket ") + what + ": interrupted");
    return Status::Unavailable(msg);
  }

  void CloseSocket() {
    {
      std::lock_guard lock(fd_mu);
      fd = -1;
    }
    beast::error_code ec;
    auto& sock = ws.next_layer();
    if (sock.is_open()) sock.close(ec);
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}

WsClient::~WsClient() { impl_->CloseSocket(); }

Status WsClient::Connect(const std::string& host, int port, const std::string& path,
                         uint64_t max_message) {
  try {
    beast::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("websocket: bad address " + host);
    auto& sock = impl_->ws.next_layer();
    sock.connect(tcp::endpoint(addr, static_cast<unsigned short>(port)), ec);
    if (ec) return impl_->Fail("connect", ec);
    {
      std::lock_guard lock(impl_->fd_mu);
      impl_->fd = sock.native_handle();
      if (impl_->interrupted) ::shutdown(impl_->fd, SHUT_RDWR);
    }
    sock.set_option(tcp::no_delay(true), ec);
    impl_->ws.auto_fragment(false);
    impl_->ws.read_message_max(max_message);
    impl_->ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "aisle-etl");
    }));
    impl_->ws.handshake(host + ":" + std::to_string(port), path, ec);
    if (ec) return impl_->Fail("handshake", ec);
    impl_->healthy = true;
    return Status::OK();
  } catch (const std::exception& e) {
    impl_->healthy = false;
    return Status::Unavailable(std::string("websocket connect: ") + e.what());
  }
}

Status WsClient::WriteText(std::string_view data) { return Write(data, false); }
Status WsClient::WriteBinary(std::string_view data) { return Write(data, true); }

Status WsClient::Write(std::string_view data, bool binary) {
  try {
    beast::error_code ec;
    impl_->ws.binary(binary);
    impl_->ws.write(asio::buffer(data.data(), data.size()), ec);
    if (ec) return impl_->Fail("write", ec);
    return Status::OK();
  } catch (const std::exception& e) {
    impl_->healthy = false;
    return Status::Unavailable(std::string("websocket write: ") + e.what());
  }
}

Result<WsClient::Message> WsClient::Read() {
  try {
    beast::error_code ec;
    beast::flat_buffer buf;
    impl_->ws.read(buf, ec);
    if (ec) return impl_->Fail("read", ec);
    Message m;
    m.binary = impl_->ws.got_binary();
    m.data = beast::buffers_to_string(buf.data());
    return m;
  } catch (const std::exception& e) {
    impl_->healthy = false;
    return Status::Unavailable(std::string("websocket read: ") + e.what());
  }
}

void WsClient::Interrupt() {
  std::lock_guard lock(impl_->fd_mu);
  impl_->interrupted = true;
  if (impl_->fd >= 0) ::shutdown(impl_->fd, SHUT_RDWR);
}

bool WsClient::healthy() const { return impl_->healthy; }

}  // namespace aisle::etl
