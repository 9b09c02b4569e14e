// .npz: a ZIP archive with one .npy member per array. Written uncompressed (ZIP "stored"); read stored or,
// with zlib, deflated. Every offset and size read from the archive is bounds-checked before use.
#include <array>
#include <limits>
#include <set>

#include "core/npy.h"
#include "core/npy_internal.h"

#ifdef CONVGRAD_WITH_ZLIB
#include <zlib.h>
#endif

namespace convgrad {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr size_t kLocalLen = 30, kCentralLen = 46, kEndLen = 22;
constexpr uint16_t kStored = 0, kDeflated = 8;
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: fixed, so output is reproducible

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

uint32_t get(std::string_view b, size_t pos, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(b[pos + k])) << (8 * k);
  return v;
}

void put(std::string& out, uint32_t v, size_t n) {
  for (size_t k = 0; k < n; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

// One member as the central directory describes it.
struct Entry {
  std::string name;
  uint16_t flags, method;
  uint32_t crc, csize, usize, offset;
};

std::string inflate_member(std::string_view data, const Entry& e, const std::string& what) {
#ifdef CONVGRAD_WITH_ZLIB
  // Deflate cannot expand more than ~1032:1, so a larger declared size is a lie: refuse before allocating.
  CONVGRAD_CHECK(e.usize / 1032 <= data.size() + 1,
                 "{}: member '{}' declares {} uncompressed bytes, impossible for {} "
                 "compressed bytes (corrupted file)",
                 what, e.name, e.usize, data.size());
  z_stream zs{};
  CONVGRAD_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, "{}: zlib initialisation failed", what);
  std::string out(std::min<size_t>(e.usize, size_t{1} << 20), '\0');  // grows with what really comes out
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  size_t produced = 0;
  while (rc == Z_OK) {
    if (produced == out.size()) {
      if (out.size() >= e.usize) {  // more output than declared
        rc = Z_DATA_ERROR;
        break;
      }
      out.resize(std::min<size_t>(e.usize, out.size() * 2 + 1));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
  }
  inflateEnd(&zs);
  CONVGRAD_CHECK(rc == Z_STREAM_END && produced == e.usize,
                 "{}: member '{}': deflate data is corrupted or truncated "
                 "(zlib code {}, {} of {} bytes inflated)",
                 what, e.name, rc, produced, e.usize);
  out.resize(produced);
  return out;
#else
  (void)data;
  fail(
      "{}: member '{}' is compressed (np.savez_compressed), but this convgrad was built without zlib; "
      "save it with np.savez instead, or rebuild with zlib",
      what, e.name);
#endif
}

}  // namespace

bool npz_supports_deflate() {
#ifdef CONVGRAD_WITH_ZLIB
  return true;
#else
  return false;
#endif
}

uint32_t crc32(std::string_view bytes, uint32_t crc) {
  crc = ~crc;
  for (char ch : bytes) crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string npz_bytes(const std::vector<std::pair<std::string, Tensor>>& arrays) {
  CONVGRAD_CHECK(arrays.size() < 0xffff,
                 "save_npz: {} arrays exceed the ZIP limit of 65534 (ZIP64 is not supported)", arrays.size());
  std::string out, central;
  std::set<std::string> seen;
  for (const auto& [key, t] : arrays) {
    CONVGRAD_CHECK(!key.empty(), "save_npz: array names must be non-empty");
    CONVGRAD_CHECK(seen.insert(key).second, "save_npz: the name '{}' appears twice; names must be unique",
                   key);
    CONVGRAD_CHECK(t.defined(), "save_npz: array '{}' is undefined", key);
    std::string name = key + ".npy", data = npy_bytes(t);
    CONVGRAD_CHECK(name.size() <= 0xffff, "save_npz: the name '{}...' is longer than 65535 bytes",
                   key.substr(0, 40));
    CONVGRAD_CHECK(out.size() + kLocalLen + name.size() + data.size() < 0xffffffffu,
                   "save_npz: the archive would exceed 4 GiB at array '{}' (ZIP64 is not supported)", key);
    uint32_t crc = crc32(data), offset = static_cast<uint32_t>(out.size());
    uint16_t flags = 0;
    for (unsigned char ch : name) flags |= ch >= 0x80 ? 0x800 : 0;  // bit 11: the name is UTF-8
    auto common = [&](std::string& s) {  // the fields local and central headers share, from "version needed"
      put(s, 20, 2);
      put(s, flags, 2);
      put(s, kStored, 2);
      put(s, 0, 2);  // time
      put(s, kDosDate1980, 2);
      put(s, crc, 4);
      put(s, static_cast<uint32_t>(data.size()), 4);
      put(s, static_cast<uint32_t>(data.size()), 4);
      put(s, static_cast<uint32_t>(name.size()), 2);
      put(s, 0, 2);  // extra field length
    };
    put(out, kLocalSig, 4);
    common(out);
    out += name;
    out += data;
    put(central, kCentralSig, 4);
    put(central, (3 << 8) | 20, 2);  // made by: Unix, spec 2.0
    common(central);
    put(central, 0, 2);               // comment length
    put(central, 0, 2);               // disk number
    put(central, 0, 2);               // internal attributes
    put(central, 0100644u << 16, 4);  // external attributes: a regular file, rw-r--r--
    put(central, offset, 4);
    central += name;
  }
  CONVGRAD_CHECK(out.size() + central.size() < 0xffffffffu,
                 "save_npz: the archive would exceed 4 GiB (ZIP64 is not supported)");
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put(out, kEndSig, 4);
  put(out, 0, 2);
  put(out, 0, 2);
  put(out, static_cast<uint32_t>(arrays.size()), 2);
  put(out, static_cast<uint32_t>(arrays.size()), 2);
  put(out, static_cast<uint32_t>(central.size()), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);  // comment length
  return out;
}

std::map<std::string, Tensor> parse_npz(std::string_view b, const std::string& what) {
  CONVGRAD_CHECK(b.substr(0, 6) != "\x93NUMPY", "{}: this is a .npy file, not a .npz archive; use load_npy",
                 what);
  CONVGRAD_CHECK(b.size() >= kEndLen, "{}: not a .npz file: {} bytes is too short for a ZIP archive", what,
                 b.size());
  // The end record sits in the last 22 + 65535 (max comment) bytes; scan backwards for its signature.
  size_t end = std::string_view::npos;
  size_t lowest = b.size() > kEndLen + 0xffff ? b.size() - kEndLen - 0xffff : 0;
  for (size_t p = b.size() - kEndLen + 1; p-- > lowest;)
    if (get(b, p, 4) == kEndSig && p + kEndLen + get(b, p + 20, 2) <= b.size()) {
      end = p;
      break;
    }
  CONVGRAD_CHECK(end != std::string_view::npos,
                 "{}: not a .npz file, or truncated: no ZIP end-of-central-directory record", what);
  uint32_t disk = get(b, end + 4, 2), cd_disk = get(b, end + 6, 2), n_disk = get(b, end + 8, 2);
  uint32_t count = get(b, end + 10, 2), cd_size = get(b, end + 12, 4), cd_offset = get(b, end + 16, 4);
  CONVGRAD_CHECK(count != 0xffff && cd_size != 0xffffffffu && cd_offset != 0xffffffffu,
                 "{}: ZIP64 archives are not supported (only needed above 4 GiB or 65535 arrays)", what);
  CONVGRAD_CHECK(disk == 0 && cd_disk == 0 && n_disk == count,
                 "{}: multi-disk (split) ZIP archives are not supported", what);
  CONVGRAD_CHECK(
      static_cast<uint64_t>(cd_offset) + cd_size <= end,
      "{}: corrupted ZIP: the central directory ({} bytes at offset {}) lies beyond the end record at {}",
      what, cd_size, cd_offset, end);
  CONVGRAD_CHECK(static_cast<uint64_t>(count) * kCentralLen <= cd_size,
                 "{}: corrupted ZIP: {} entries cannot fit in a {} byte central directory", what, count,
                 cd_size);

  std::map<std::string, Tensor> arrays;
  size_t p = cd_offset, cd_end = static_cast<size_t>(cd_offset) + cd_size;
  for (uint32_t i = 0; i < count; ++i) {
    CONVGRAD_CHECK(p + kCentralLen <= cd_end && get(b, p, 4) == kCentralSig,
                   "{}: corrupted ZIP: central directory entry {} is missing or damaged", what, i);
    Entry e{};
    e.flags = static_cast<uint16_t>(get(b, p + 8, 2));
    e.method = static_cast<uint16_t>(get(b, p + 10, 2));
    e.crc = get(b, p + 16, 4);
    e.csize = get(b, p + 20, 4);
    e.usize = get(b, p + 24, 4);
    size_t nlen = get(b, p + 28, 2), elen = get(b, p + 30, 2), clen = get(b, p + 32, 2);
    e.offset = get(b, p + 42, 4);
    CONVGRAD_CHECK(p + kCentralLen + nlen + elen + clen <= cd_end,
                   "{}: corrupted ZIP: entry {} overruns the central directory", what, i);
    e.name = std::string(b.substr(p + kCentralLen, nlen));
    p += kCentralLen + nlen + elen + clen;

    CONVGRAD_CHECK(e.csize != 0xffffffffu && e.usize != 0xffffffffu && e.offset != 0xffffffffu,
                   "{}: member '{}' uses ZIP64 sizes, which are not supported", what, e.name);
    CONVGRAD_CHECK(!(e.flags & 1), "{}: member '{}' is encrypted; encrypted archives are not supported", what,
                   e.name);
    CONVGRAD_CHECK(e.method == kStored || e.method == kDeflated,
                   "{}: member '{}' uses ZIP compression method {} (only stored and deflated are supported)",
                   what, e.name, e.method);
    CONVGRAD_CHECK(e.name.size() > 4 && e.name.ends_with(".npy"), "{}: member '{}' is not a .npy array", what,
                   e.name);
    std::string key = e.name.substr(0, e.name.size() - 4);
    CONVGRAD_CHECK(!arrays.count(key), "{}: the array '{}' appears twice in the archive", what, key);

    // The local header repeats the name; its size fields may be placeholders (NumPy writes ZIP64 ones), so
    // the central directory's sizes are the ones used.
    size_t lh = e.offset;
    CONVGRAD_CHECK(lh + kLocalLen <= cd_offset && get(b, lh, 4) == kLocalSig,
                   "{}: corrupted ZIP: the local header of member '{}' (offset {}) is missing or damaged",
                   what, e.name, lh);
    size_t lnlen = get(b, lh + 26, 2), lelen = get(b, lh + 28, 2), start = lh + kLocalLen + lnlen + lelen;
    CONVGRAD_CHECK(start <= cd_offset && b.substr(lh + kLocalLen, lnlen) == e.name,
                   "{}: corrupted ZIP: the local header of member '{}' does not match the central directory",
                   what, e.name);
    CONVGRAD_CHECK(e.csize <= cd_offset - start,
                   "{}: truncated or corrupted ZIP: member '{}' declares {} bytes but only {} "
                   "lie before the central directory",
                   what, e.name, e.csize, cd_offset - start);
    std::string_view data = b.substr(start, e.csize);
    std::string inflated;
    if (e.method == kDeflated) {
      inflated = inflate_member(data, e, what);
      data = inflated;
    } else {
      CONVGRAD_CHECK(e.csize == e.usize,
                     "{}: corrupted ZIP: stored member '{}' has compressed size {} != size {}", what, e.name,
                     e.csize, e.usize);
    }
    CONVGRAD_CHECK(crc32(data) == e.crc, "{}: member '{}' fails its CRC-32 check (the file is corrupted)",
                   what, e.name);
    arrays.emplace(key, parse_npy(data, fmt::format("{} member '{}'", what, e.name)));
  }
  return arrays;
}

std::map<std::string, Tensor> load_npz(const std::string& path) {
  return parse_npz(detail::read_file(path, "load_npz"), fmt::format("load_npz: '{}'", path));
}

void save_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays) {
  detail::write_file_atomic(path, npz_bytes(arrays), "save_npz");
}

}  // namespace convgrad
