// .npy: header parsing and writing.
#include "core/npy.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/factory.h"
#include "core/npy_internal.h"

namespace convgrad {

static_assert(std::endian::native == std::endian::little, "convgrad's .npy I/O assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeaderLen = 1 << 20;  // real headers are < 200 bytes; NumPy itself caps at 10,000
constexpr size_t kMaxDims = 64;

// The element types a file may hold, and what they load as.
enum class FileType { F32, F64, I32, I64, U8 };

struct Header {
  FileType type;
  std::string descr;
  Shape shape;
  size_t data_offset;
};

// A cursor over the Python-literal dict in the header.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  const std::string& what;
  void skip_ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  [[noreturn]] void bad(const char* expected) const {
    fail("{}: malformed .npy header: expected {} at offset {} of \"{}\"", what, expected, i, s);
  }
  void expect(char c, const char* name) {
    skip_ws();
    if (i >= s.size() || s[i] != c) bad(name);
    ++i;
  }
  bool accept(char c) {
    skip_ws();
    if (i < s.size() && s[i] == c) return ++i, true;
    return false;
  }
  std::string string_literal() {
    skip_ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) bad("a quoted string");
    char q = s[i++];
    size_t start = i;
    while (i < s.size() && s[i] != q) ++i;
    if (i >= s.size()) bad("a closing quote");
    return std::string(s.substr(start, i++ - start));
  }
  bool boolean() {
    skip_ws();
    if (s.substr(i, 4) == "True") return i += 4, true;
    if (s.substr(i, 5) == "False") return i += 5, false;
    bad("True or False");
  }
  Shape tuple() {
    expect('(', "'(' opening the shape");
    Shape shape;
    while (!accept(')')) {
      skip_ws();
      if (i >= s.size() || s[i] < '0' || s[i] > '9') bad("a non-negative integer in the shape");
      int64_t v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        int digit = s[i++] - '0';
        CONVGRAD_CHECK(v <= (std::numeric_limits<int64_t>::max() - digit) / 10,
                       "{}: .npy shape size overflows int64", what);
        v = v * 10 + digit;
      }
      if (i < s.size() && s[i] == 'L') ++i;  // Python 2 longs
      shape.push_back(v);
      CONVGRAD_CHECK(shape.size() <= kMaxDims, "{}: .npy shape has more than {} dimensions", what, kMaxDims);
      if (!accept(',')) {
        expect(')', "',' or ')' in the shape");
        break;
      }
    }
    return shape;
  }
};

FileType file_type(const std::string& descr, const std::string& what) {
  if (descr == "<f4") return FileType::F32;
  if (descr == "<f8") return FileType::F64;
  if (descr == "<i4") return FileType::I32;
  if (descr == "<i8") return FileType::I64;
  if (descr == "|u1" || descr == "<u1") return FileType::U8;
  if (descr.find('O') != std::string::npos)
    fail("{}: object arrays ('{}') are not supported (they need pickle); save a numeric array instead", what,
         descr);
  if (!descr.empty() && descr[0] == '>')
    fail("{}: big-endian data ('{}') is not supported; convert with arr.astype('<{}')", what, descr,
         descr.substr(1));
  fail(
      "{}: unsupported dtype '{}' (expected '<f4', '<f8', '<i4', '<i8' or '|u1'); convert with "
      "arr.astype(np.float32) or arr.astype(np.int64)",
      what, descr);
}

size_t file_type_size(FileType t) {
  return t == FileType::U8 ? 1 : t == FileType::F32 || t == FileType::I32 ? 4 : 8;
}

uint32_t read_le(std::string_view b, size_t pos, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(b[pos + k])) << (8 * k);
  return v;
}

Header parse_header(std::string_view bytes, const std::string& what) {
  CONVGRAD_CHECK(bytes.size() >= 10, "{}: not a .npy file: {} bytes is shorter than the smallest header",
                 what, bytes.size());
  CONVGRAD_CHECK(bytes.substr(0, kMagicLen) == std::string_view(kMagic, kMagicLen),
                 "{}: not a .npy file (missing the \\x93NUMPY magic string){}", what,
                 bytes.substr(0, 2) == "PK" ? "; it looks like a ZIP/.npz file, use load_npz" : "");
  int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  CONVGRAD_CHECK(major >= 1 && major <= 3 && minor == 0,
                 "{}: unsupported .npy format version {}.{} (expected 1.0, 2.0 or 3.0)", what, major, minor);
  size_t len_bytes = major == 1 ? 2 : 4, prefix = 8 + len_bytes;
  CONVGRAD_CHECK(bytes.size() >= prefix, "{}: truncated .npy header", what);
  size_t header_len = read_le(bytes, 8, len_bytes);
  CONVGRAD_CHECK(header_len <= kMaxHeaderLen,
                 "{}: .npy header length {} exceeds the {} byte limit (corrupted file?)", what, header_len,
                 kMaxHeaderLen);
  CONVGRAD_CHECK(bytes.size() - prefix >= header_len,
                 "{}: truncated .npy file: header declares {} bytes but only {} remain", what, header_len,
                 bytes.size() - prefix);

  Cursor c{bytes.substr(prefix, header_len), 0, what};
  Header h{};
  bool has_descr = false, has_order = false, has_shape = false, fortran = false;
  c.expect('{', "'{' opening the header dict");
  while (!c.accept('}')) {
    std::string key = c.string_literal();
    c.expect(':', "':' after a key");
    if (key == "descr") {
      c.skip_ws();
      if (c.i < c.s.size() && c.s[c.i] == '[')
        fail("{}: structured (record) dtypes are not supported; save one plain numeric array per name", what);
      h.descr = c.string_literal();
      has_descr = true;
    } else if (key == "fortran_order") {
      fortran = c.boolean();
      has_order = true;
    } else if (key == "shape") {
      h.shape = c.tuple();
      has_shape = true;
    } else {
      fail("{}: unexpected key '{}' in the .npy header (expected descr, fortran_order, shape)", what, key);
    }
    if (!c.accept(',')) {
      c.expect('}', "',' or '}' in the header dict");
      break;
    }
  }
  c.skip_ws();
  CONVGRAD_CHECK(c.i == c.s.size(), "{}: malformed .npy header: trailing characters after the dict", what);
  CONVGRAD_CHECK(has_descr && has_order && has_shape,
                 "{}: .npy header lacks one of descr, fortran_order, shape", what);
  h.type = file_type(h.descr, what);
  // A Fortran-ordered array of at most one non-trivial dim has the same bytes as C order.
  int nontrivial = 0;
  for (int64_t s : h.shape) nontrivial += s > 1;
  CONVGRAD_CHECK(
      !fortran || nontrivial <= 1,
      "{}: Fortran-ordered arrays are not supported (shape {}); save np.ascontiguousarray(arr) instead", what,
      shape_str(h.shape));
  h.data_offset = prefix + header_len;
  return h;
}

// The shape's element count, or an error naming the file when it overflows.
int64_t checked_numel(const Shape& shape, const std::string& what) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s != 0 && n > std::numeric_limits<int64_t>::max() / s)
      fail("{}: .npy shape {} has an element count that overflows int64 (corrupted file?)", what,
           shape_str(shape));
    n *= s;
  }
  return n;
}

std::string header_text(const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  if (t.shape().size() == 1) shape += ",";
  shape += ")";
  return fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                     t.dtype() == DType::Float32 ? "<f4" : "<i8", shape);
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& what) {
  Header h = parse_header(bytes, what);
  int64_t numel = checked_numel(h.shape, what);
  size_t esize = file_type_size(h.type), avail = bytes.size() - h.data_offset;
  // Compare without multiplying, so a huge declared shape cannot overflow the check.
  CONVGRAD_CHECK(
      static_cast<uint64_t>(numel) <= avail / esize,
      "{}: truncated .npy file: shape {} of '{}' needs {} elements but only {} bytes of data remain", what,
      shape_str(h.shape), h.descr, numel, avail);
  size_t need = static_cast<size_t>(numel) * esize;
  CONVGRAD_CHECK(avail == need, "{}: corrupted .npy file: {} bytes follow the data of shape {} ('{}')", what,
                 avail - need, shape_str(h.shape), h.descr);
  const char* src = bytes.data() + h.data_offset;
  bool is_float = h.type == FileType::F32 || h.type == FileType::F64;
  // Every element is written below (the size was checked above).
  Tensor out = uninitialized(h.shape, is_float ? DType::Float32 : DType::Int64);
  if (numel == 0) return out;
  switch (h.type) {
    case FileType::F32:
      std::memcpy(out.data<float>(), src, need);
      break;
    case FileType::I64:
      std::memcpy(out.data<int64_t>(), src, need);
      break;
    case FileType::F64: {
      float* dst = out.data<float>();
      for (int64_t i = 0; i < numel; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = static_cast<float>(v);
        // A finite value float32 cannot hold would silently become inf (inf and NaN in the file load as is).
        if (std::isinf(dst[i]) && std::isfinite(v))
          fail(
              "{}: float64 value {} at flat index {} is beyond the float32 range (max {}); float64 arrays "
              "load as float32: rescale or clip the data before saving",
              what, v, i, std::numeric_limits<float>::max());
      }
      break;
    }
    case FileType::I32: {
      int64_t* dst = out.data<int64_t>();
      for (int64_t i = 0; i < numel; ++i) {
        int32_t v;
        std::memcpy(&v, src + 4 * i, 4);
        dst[i] = v;
      }
      break;
    }
    case FileType::U8: {
      int64_t* dst = out.data<int64_t>();
      for (int64_t i = 0; i < numel; ++i) dst[i] = static_cast<unsigned char>(src[i]);
      break;
    }
  }
  return out;
}

std::string npy_bytes(const Tensor& t) {
  CONVGRAD_CHECK(t.defined(), "npy_bytes: the tensor is undefined");
  // NumPy has no bfloat16: its values go out as float32, which holds each of them exactly (see
  // docs/mixed-precision.md#saving-and-loading); t.to(DType::BFloat16) after loading restores them.
  if (t.dtype() == DType::BFloat16) return npy_bytes(t.to(DType::Float32));
  std::string header = header_text(t);
  // NumPy's layout, byte for byte (np.save): room for the first size to grow to 21 digits (so a file can
  // be appended to in place), then 1 to 64 spaces so the data starts on a 64-byte boundary, then '\n'.
  // A version 1 header stores its length in 2 bytes; longer ones (thousands of dims) need version 2.
  if (!t.shape().empty()) header.append(21 - std::to_string(t.shape()[0]).size(), ' ');
  size_t prefix = 10;
  auto padded_len = [&] { return header.size() + 1 + (64 - (prefix + header.size() + 1) % 64); };
  if (padded_len() > 65535) prefix = 12;
  header.append(padded_len() - header.size() - 1, ' ');
  header.push_back('\n');
  std::string out(kMagic, kMagicLen);
  out.push_back(prefix == 10 ? 1 : 2);
  out.push_back(0);
  for (size_t k = 0; k < prefix - 8; ++k) out.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
  out += header;
  size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  size_t start = out.size();
  out.resize(start + nbytes);
  if (nbytes == 0) return out;
  if (t.dtype() == DType::Float32) {
    auto v = t.is_contiguous() ? std::vector<float>() : t.to_vector<float>();
    std::memcpy(&out[start], v.empty() ? t.data<float>() : v.data(), nbytes);
  } else {
    auto v = t.is_contiguous() ? std::vector<int64_t>() : t.to_vector<int64_t>();
    std::memcpy(&out[start], v.empty() ? t.data<int64_t>() : v.data(), nbytes);
  }
  return out;
}

Tensor load_npy(const std::string& path) {
  return parse_npy(detail::read_file(path, "load_npy"), fmt::format("load_npy: '{}'", path));
}

void save_npy(const std::string& path, const Tensor& t) {
  CONVGRAD_CHECK(t.defined(), "save_npy: the tensor to write to '{}' is undefined", path);
  detail::write_file_atomic(path, npy_bytes(t), "save_npy");
}

namespace detail {

std::string npy_descr(std::string_view bytes, const std::string& what) {
  return parse_header(bytes, what).descr;
}

}  // namespace detail

}  // namespace convgrad
