// etcd v3 JSON gateway shapes (etcd 3.4's grpc-gateway: POST /v3/kv/range, /v3/kv/txn, ...):
// keys and values are base64, 64-bit integers are decimal strings, zero fields are left out.
// Only encoding and decoding live here, so they are unit-tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle::etcd {

struct KeyValue {
  std::string key, value;
  int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

struct RangeResult {
  int64_t revision = 0;  // the store's revision when it answered
  std::vector<KeyValue> kvs;
};

// One comparison of a txn: the key's `target` (VALUE, MOD, CREATE, VERSION, LEASE) `result`
// (EQUAL, NOT_EQUAL, GREATER, LESS) the given operand.
struct Compare {
  std::string key;
  std::string target;
  std::string result = "EQUAL";
  int64_t number = 0;  // MOD / CREATE / VERSION / LEASE
  std::string value;   // VALUE
};

// One operation of a txn: a put (with an optional lease), a range (prefix when range_end is
// set) or a delete.
struct Op {
  enum Kind { kPut, kRange, kDelete } kind = kPut;
  std::string key, value, range_end;
  int64_t lease = 0;
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  // The kvs of every range op of the branch that ran, in order.
  std::vector<KeyValue> kvs;
};

// The range_end that makes a range cover every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

std::string EncodeRange(std::string_view key, std::string_view range_end);
std::string EncodePut(std::string_view key, std::string_view value, int64_t lease);
std::string EncodeDelete(std::string_view key, std::string_view range_end);
std::string EncodeTxn(const std::vector<Compare>& cmp, const std::vector<Op>& success,
                      const std::vector<Op>& failure);
std::string EncodeLeaseGrant(int64_t ttl_s);
std::string EncodeLeaseId(int64_t id);  // keepalive, revoke

Result<RangeResult> DecodeRange(std::string_view body);
Result<TxnResult> DecodeTxn(std::string_view body);
// The header's revision (put, delete).
Result<int64_t> DecodeRevision(std::string_view body);
// Lease grant: the new lease ID.
Result<int64_t> DecodeLeaseGrant(std::string_view body);
// Lease keepalive ({"result": {...}}): the remaining TTL; 0 when the lease has expired.
Result<int64_t> DecodeKeepalive(std::string_view body);
// A gateway error body ({"error","message","code"}): the message, or nullopt if not one.
std::optional<std::string> DecodeError(std::string_view body);

}  // namespace aisle::etcd
