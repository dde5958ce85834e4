// libFuzzer target for every JSON message a node accepts: action messages (and the list/range
// arguments in them), ETL init messages, GetBatch requests, the archive job's message, cluster
// maps (metasync, join, keepalive bodies), token claims, the local-read protocol, object-name
// templates. The first byte picks the parser; the rest is the message. Built and run by
// scripts/fuzz.sh (clang, ASan+UBSan), not in CI.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/body.h"
#include "common/local_read_protocol.h"
#include "common/name_template.h"
#include "etl/etl_msg.h"
#include "server/api/action_msg.h"
#include "server/api/user_auth.h"
#include "server/cluster/cluster_map.h"
#include "server/ml/moss_request.h"
#include "server/native/listrange.h"
#include "server/shards/archive_job.h"

using namespace aisle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string msg(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 12) {
    case 0: {
      auto a = api::ParseActionMsg(msg);
      if (!a.ok()) break;
      // The list/range jobs read their arguments out of the action message.
      api::Request req;
      req.method = a->action == "delete-listrange" ? "DELETE" : "POST";
      StringBodyReader body(msg);
      req.body = &body;
      (void)api::ParseListRange(req, "b", *a);
      break;
    }
    case 1: (void)etl::ParseInitMsg(msg); break;
    case 2: (void)ml::ParseMossReq(msg, "b"); break;
    case 3: (void)shards::ParseArchiveMsg(msg, "b"); break;
    case 4: {
      auto s = cluster::SmapFromJson(msg);
      if (s.ok()) {
        // Placement must work on any map a peer could send.
        (void)s->Owner("b", "o");
        (void)s->RankHolders("b", "o", 3);
        auto again = cluster::SmapFromJson(cluster::SmapToJson(*s));
        if (!again.ok()) __builtin_trap();  // what we write we must read back
      }
      break;
    }
    case 5: {
      auto b = cluster::BmdFromJson(msg);
      if (b.ok() && !cluster::BmdFromJson(cluster::BmdToJson(*b)).ok()) __builtin_trap();
      break;
    }
    case 6: (void)cluster::EtlMdFromJson(msg); break;
    case 7: (void)cluster::MapSetFromJson(msg); break;
    case 8: (void)cluster::NodeFromJson(msg); break;
    case 9: (void)api::ParseClaims(msg); break;
    case 10:
      (void)localread::DecodeRequest(msg);
      (void)localread::DecodeReply(msg);
      break;
    case 11: {
      auto t = ParseNameTemplate(msg);
      if (!t.ok()) break;
      int n = 0;
      t->ForEach([&](const std::string&) { return ++n < 1000; });
      break;
    }
  }
  return 0;
}
