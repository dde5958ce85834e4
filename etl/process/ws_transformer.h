// WsTransformer (ws://): the program is a WebSocket server on PORT, path "/ws", run by a
// ProgramSupervisor. One persistent connection per concurrency slot; per object the target
// sends a text frame {"bucket","object","args"} and a binary frame with the bytes, and reads
// one frame back: binary = the result, text = an error message. Dropped connections are
// re-established; a timeout drops the connection.
#pragma once

#include <memory>

#include "etl/transformer.h"

namespace aisle::etl {

std::unique_ptr<Transformer> MakeWsTransformer(const EtlSpec& spec);

}  // namespace aisle::etl
