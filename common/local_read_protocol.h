// Local reads: a client on the same host as a target (aisle-fs next to a node) reads an
// object's file with pread instead of over HTTP. The target checks the request, opens the
// object as a GET would and passes the open file descriptor over a unix socket (SCM_RIGHTS),
// as HDFS short-circuit reads do. The target keeps the object open (its read guard: no
// in-place append rewrites those bytes) until the client closes it.
//
// Wire: AF_UNIX SOCK_SEQPACKET at the abstract name "aisle-local-read/<node-id>" (per network
// namespace, nothing on disk to clean up; the target accepts peers of its own uid or root).
// A client keeps its connections open; messages are JSON, one per packet:
//   {"op":"open","id":I,"bucket":B,"object":O}  ->
//       {"status":200,"id":I,"handle":H,"node":ID,"url":U,"offset":D,"size":N,"version":"V",
//        "mtime_ns":T} with the fd attached (U: the node's HTTP URL, which the client checks
//       against its cluster map: a node of another cluster may carry the same id), or
//       {"status":404,"id":I,"message":"..."} (no fd; the status an HTTP GET would answer; 503 when
//       the target holds too many, 403 to a peer of another uid). I, chosen by the client, pairs a
//       reply with its request.
//   {"op":"close","handle":H}            -> no reply; the target lets the object go
// Closing the connection closes every object opened on it.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aisle::localread {

struct OpenRequest {
  std::string bucket;
  std::string object;
  uint64_t id = 0;  // echoed in the reply
};

// One decoded client message: an open, or the close of an earlier open's handle.
struct Request {
  bool close = false;
  OpenRequest open;     // when !close
  uint64_t handle = 0;  // when close
};

struct OpenReply {
  int status = 0;       // 200, or the HTTP status a GET would have answered
  std::string message;  // the error, when not 200
  uint64_t id = 0;      // the request's
  uint64_t handle = 0;  // names the open object in a later close
  std::string node;     // the target's id
  std::string url;      // and its HTTP URL (as in the cluster map)
  uint64_t offset = 0;  // where the object's data starts in the passed file
  uint64_t size = 0;
  std::string version;
  int64_t mtime_ns = 0;
};

constexpr size_t kMaxMessage = 16 * 1024;
constexpr int kDroppedFd = -2;

// The socket address of target `node_id`; returns its length for bind/connect.
socklen_t MakeAddress(std::string_view node_id, sockaddr_un* addr);

std::string Encode(const OpenRequest& req);
std::string EncodeClose(uint64_t handle);
std::string Encode(const OpenReply& reply);
Result<Request> DecodeRequest(std::string_view msg);
Result<OpenReply> DecodeReply(std::string_view msg);

// One message, with `fd` attached when >= 0.
Status SendMessage(int sock, std::string_view msg, int fd);
// One message; *fd gets an attached descriptor (close-on-exec), -1, or kDroppedFd when one
// was sent but this process could take no more descriptors. kUnavailable when the peer has
// closed, kTimeout when the socket's receive timeout passed.
Result<std::string> ReceiveMessage(int sock, int* fd);

}  // namespace aisle::localread
