#include "server/api/peer_auth.h"

#include <cstdlib>

#include "common/clock.h"
#include "server/api/errors.h"
#include "server/cluster/cluster_map.h"

namespace aisle::api {
namespace {

// Hashes a signed body as the handler reads it; a body that ends with another digest fails.
class DigestCheckingReader : public BodyReader {
 public:
  DigestCheckingReader(BodyReader* inner, std::string digest)
      : inner_(inner), digest_(std::move(digest)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (done_) return size_t{0};
    AISLE_ASSIGN_OR_RETURN(size_t got, inner_->Read(buf, n));
    if (got > 0) {
      hash_.Update(buf, got);
      return got;
    }
    done_ = true;
    if (hash_.HexFinal() != digest_)
      return Status::InvalidArgument("the request body does not match its signed digest " +
                                     std::string(kIntraBodyHeader))
          .WithSubject(Subject::kRequestBody);
    return size_t{0};
  }
  std::optional<uint64_t> DeclaredLength() const override { return inner_->DeclaredLength(); }

 private:
  BodyReader* inner_;
  std::string digest_;
  Sha256Stream hash_;
  bool done_ = false;
};

bool IsHexDigest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Object data may travel unsigned (streamed); control bodies may not (docs/SECURITY.md).
bool MayBeUnsignedPayload(const Request& req) {
  std::string_view p = req.path;
  return p.substr(0, 12) == "/v1/objects/" || p.substr(0, 4) != "/v1/";
}

}  // namespace

Result<std::string> PeerAuth::Check(const Request& req, PeerRoute route, int64_t now_s) const {
  const std::string* sender = req.headers.Find(kIntraHeader);
  if (!opts_.secret) return sender ? (sender->empty() ? std::string("?") : *sender) : "";
  if (!sender) {
    if (route == PeerRoute::kAny) return std::string();
    return Status::InvalidArgument(
        "node-to-node route: the request must be signed with the "
        "cluster secret (Aisle-Intra headers)");
  }
  const std::string* time = req.headers.Find(kIntraTimeHeader);
  const std::string* body = req.headers.Find(kIntraBodyHeader);
  const std::string* sig = req.headers.Find(kIntraSigHeader);
  if (sender->empty() || !time || !body || !sig)
    return Status::InvalidArgument(
        "unsigned node-to-node request: Aisle-Intra needs Aisle-Intra-Time, Aisle-Intra-Body "
        "and Aisle-Intra-Sig");
  char* end = nullptr;
  long long t = std::strtoll(time->c_str(), &end, 10);
  if (time->empty() || *end != '\0')
    return Status::InvalidArgument("malformed " + std::string(kIntraTimeHeader));
  if (*body != kUnsignedPayload && !IsHexDigest(*body))
    return Status::InvalidArgument("malformed " + std::string(kIntraBodyHeader) +
                                   " (expecting a SHA-256 in hex or UNSIGNED-PAYLOAD)");
  IntraFields f{req.method, req.target, t, *sender, *body};
  if (!opts_.secret->Verify(f, *sig))
    return Status::InvalidArgument("invalid node-to-node signature");
  if (t < now_s - kIntraClockWindowS || t > now_s + kIntraClockWindowS)
    return Status::InvalidArgument("node-to-node request outside the clock window (" +
                                   std::to_string(t - now_s) + " s off)");
  if (*body == kUnsignedPayload && !MayBeUnsignedPayload(req))
    return Status::InvalidArgument("this route needs a signed body (" +
                                   std::string(kIntraBodyHeader) + ": SHA-256)");
  AISLE_RETURN_IF_ERROR(CheckMember(*sender, route));
  return *sender;
}

Status PeerAuth::CheckMember(const std::string& sender, PeerRoute route) const {
  if (route == PeerRoute::kJoining || !opts_.smap) return Status::OK();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto smap = opts_.smap();
    if (!smap || smap->version == 0) return Status::OK();  // not in a cluster yet
    const cluster::Node* n = smap->FindNode(sender);
    if (route == PeerRoute::kPrimary) {
      if (smap->primary_id.empty() || smap->primary_id == sender) return Status::OK();
    } else if (n) {
      return Status::OK();
    }
    if (attempt == 0 && opts_.refresh) opts_.refresh();
  }
  return Status::InvalidArgument(route == PeerRoute::kPrimary
                                     ? "node \"" + sender + "\" is not the primary"
                                     : "node \"" + sender + "\" is not in the cluster map");
}

SignedBodyGuard::~SignedBodyGuard() {
  if (req_) req_->body = original_;
}

void SignedBodyGuard::Install(Request& req, std::string digest) {
  req_ = &req;
  original_ = req.body;
  checker_ = std::make_unique<DigestCheckingReader>(req.body, std::move(digest));
  req.body = checker_.get();
}

PeerRoute PeerRouteOf(const Request& req, bool proxy) {
  std::string_view p = req.path;
  if (req.method == "PUT" && p == "/v1/metasync") return PeerRoute::kPrimary;
  if (proxy) {
    if (req.method == "POST" &&
        (p == "/v1/cluster/join" || p.substr(0, 22) == "/v1/cluster/keepalive/"))
      return PeerRoute::kJoining;
    return PeerRoute::kAny;
  }
  if (req.method == "PUT" && (p == "/v1/daemon" || p == "/v1/daemon/")) return PeerRoute::kPrimary;
  return PeerRoute::kAny;
}

bool AdmitPeer(const PeerAuth* auth, Request& req, Response& resp, const NodeContext& node,
               PeerRoute route, SignedBodyGuard* body_guard) {
  req.peer_auth = auth && auth->secret();
  if (!req.peer_auth) {
    const std::string* sender = req.headers.Find(kIntraHeader);
    req.intra_sender = sender ? (sender->empty() ? "?" : *sender) : "";
    return true;
  }
  auto sender = auth->Check(req, route, NowNs() / 1000000000);
  if (!sender.ok()) {
    WriteError(req, resp, 401, sender.status().message(), node);
    resp.close = req.has_body;  // do not read a body we refuse
    return false;
  }
  req.intra_sender = *sender;
  if (sender->empty()) return true;
  std::string digest = req.headers.Get(kIntraBodyHeader);
  if (digest == kUnsignedPayload) digest.clear();
  if (!digest.empty()) {
    if (!req.has_body) {
      if (digest != Sha256Hex("")) {
        WriteError(req, resp, 401, "the request body does not match its signed digest", node);
        return false;
      }
    } else {
      body_guard->Install(req, digest);
    }
  }
  resp.headers.Set(kIntraProofHeader,
                   auth->secret()->Proof(req.headers.Get(kIntraSigHeader), node.id));
  return true;
}

bool RefuseUnlessPeer(const Request& req, Response& resp, const NodeContext& node) {
  if (!req.peer_auth || !req.intra_sender.empty()) return false;
  WriteError(req, resp, 401,
             "node-to-node route: the request must be signed with the cluster secret "
             "(Aisle-Intra headers)",
             node);
  return true;
}

}  // namespace aisle::api
