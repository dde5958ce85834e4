// Tar header blocks for appending one regular file to an existing tar (ustar, with a pax 'x'
// record first when the name or size does not fit ustar's fields).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aisle::archive {

// The header block(s): 512 bytes, or 512 + pax record blocks + 512.
std::string TarFileHeader(std::string_view name, uint64_t size, uint32_t mode, int64_t mtime);
// Zero bytes after the data to reach the next 512-byte block.
inline uint64_t TarPadding(uint64_t size) { return (512 - size % 512) % 512; }
// The end-of-archive marker: two zero blocks.
constexpr size_t kTarEndBlocks = 1024;

}  // namespace aisle::archive
