// Helpers shared by the libFuzzer targets: CRC repair for ZIP archives and in-memory files.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/npy.h"

namespace convgrad::fuzz {

inline uint32_t get_le(const std::string& b, size_t pos, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(b[pos + k])) << (8 * k);
  return v;
}

inline void put_le(std::string& b, size_t pos, uint32_t v) {
  for (size_t k = 0; k < 4; ++k) b[pos + k] = static_cast<char>((v >> (8 * k)) & 0xff);
}

/// A copy of a ZIP archive whose stored members carry correct CRC-32s (central and local headers), so
/// that mutations inside a member reach the .npy parser instead of stopping at the CRC check. Every
/// offset is bounds-checked; anything that does not look like a ZIP comes back unchanged.
inline std::string repair_zip_crcs(std::string b) {
  if (b.size() < 22) return b;
  size_t end = std::string::npos;
  size_t lowest = b.size() > 22 + 0xffff ? b.size() - 22 - 0xffff : 0;
  for (size_t p = b.size() - 21; p-- > lowest;)
    if (get_le(b, p, 4) == 0x06054b50u) {
      end = p;
      break;
    }
  if (end == std::string::npos) return b;
  uint32_t count = get_le(b, end + 10, 2), cd_size = get_le(b, end + 12, 4),
           cd_offset = get_le(b, end + 16, 4);
  if (uint64_t{cd_offset} + cd_size > end) return b;
  size_t p = cd_offset, cd_end = size_t{cd_offset} + cd_size;
  for (uint32_t i = 0; i < count && p + 46 <= cd_end; ++i) {
    if (get_le(b, p, 4) != 0x02014b50u) break;
    uint32_t method = get_le(b, p + 10, 2), csize = get_le(b, p + 20, 4), lh = get_le(b, p + 42, 4);
    size_t nlen = get_le(b, p + 28, 2), elen = get_le(b, p + 30, 2), clen = get_le(b, p + 32, 2);
    size_t here = p;
    p += 46 + nlen + elen + clen;
    if (method != 0 || uint64_t{lh} + 30 > cd_offset || get_le(b, lh, 4) != 0x04034b50u) continue;
    uint64_t start = uint64_t{lh} + 30 + get_le(b, lh + 26, 2) + get_le(b, lh + 28, 2);
    if (start + csize > cd_offset) continue;
    uint32_t crc = crc32(std::string_view(b).substr(start, csize));
    put_le(b, here + 16, crc);
    put_le(b, lh + 14, crc);
  }
  return b;
}

/// An in-memory file holding `bytes`, reachable by path as /proc/self/fd/N (no disk I/O, nothing to clean).
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) : fd_(::memfd_create("convgrad-fuzz", 0)) {
    if (fd_ < 0) std::abort();
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

/// When CONVGRAD_FUZZ_WRITE_SEEDS names a folder: writes each (file name, bytes) there and exits
/// (how the committed corpus under tests/fuzz/corpus/ was made). Otherwise does nothing.
template <class MakeSeeds>
void write_seeds_if_asked(MakeSeeds make_seeds) {
  const char* dir = std::getenv("CONVGRAD_FUZZ_WRITE_SEEDS");
  if (!dir) return;
  for (const auto& [name, bytes] : make_seeds()) {
    std::string path = std::string(dir) + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    std::fclose(f);
  }
  std::exit(0);
}

}  // namespace convgrad::fuzz
