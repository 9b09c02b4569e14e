// NumPy interop: files written by NumPy, round trips, and hostile input (truncated, corrupted, huge).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"

using namespace convgrad;
namespace fs = std::filesystem;

namespace {
const std::string kData = std::string(CONVGRAD_TEST_DATA) + "/npy/";

// A .npy file from a header dict and raw data bytes (version 1, unpadded).
std::string make_npy(const std::string& dict, const std::string& data, char version = 1) {
  std::string out = "\x93NUMPY";
  out.push_back(version);
  out.push_back(0);
  std::string header = dict + "\n";
  for (int k = 0; k < (version == 1 ? 2 : 4); ++k)
    out.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
  return out + header + data;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("convgrad_npy_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};
}  // namespace

TEST_CASE("load_npy reads what NumPy wrote") {
  std::vector<float> expected{-0.625f, -0.375f, -0.125f, 0.125f, 0.375f, 0.625f};
  for (const char* name : {"f4_2x3.npy", "f4_v2.npy", "f4_v3.npy"}) {
    Tensor t = load_npy(kData + name);
    CHECK(t.dtype() == DType::Float32);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_vector() == expected);
  }
  Tensor f8 = load_npy(kData + "f8_2x3.npy");  // float64 -> float32
  CHECK(f8.dtype() == DType::Float32);
  CHECK(f8.at({1, 2}) == doctest::Approx(0.625f));
  Tensor i8 = load_npy(kData + "i8_4.npy");
  CHECK(i8.dtype() == DType::Int64);
  CHECK(i8.to_vector<int64_t>() == std::vector<int64_t>{-3, 0, 7, int64_t{1} << 40});
  Tensor i4 = load_npy(kData + "i4_2x2.npy");  // int32 -> int64
  CHECK(i4.dtype() == DType::Int64);
  CHECK(i4.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3, 2147483647});
  Tensor s = load_npy(kData + "scalar_f4.npy");
  CHECK(s.shape().empty());
  CHECK(s.item() == 3.25f);
  Tensor e = load_npy(kData + "empty_0x3.npy");
  CHECK(e.shape() == Shape{0, 3});
  Tensor big = load_npy(kData + "f4_2x3x4x5.npy");
  CHECK(big.shape() == Shape{2, 3, 4, 5});
  CHECK(big.at({1, 2, 3, 4}) == 59.5f);
}

TEST_CASE("unsupported NumPy files give an error naming the file and the problem") {
  auto err = [](const std::string& name) {
    try {
      load_npy(kData + name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("fortran_2x3.npy").find("Fortran") != std::string::npos);
  CHECK(err("fortran_2x3.npy").find("fortran_2x3.npy") != std::string::npos);
  CHECK(err("bigendian_f4.npy").find("big-endian data ('>f4')") != std::string::npos);
  CHECK_THROWS_WITH_AS(
      parse_npy(make_npy("{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", "ab"), "u2"),
      doctest::Contains("unsupported dtype '<u2'"), Error);
  CHECK(err("object.npy").find("object arrays") != std::string::npos);
  CHECK(err("structured.npy").find("structured") != std::string::npos);
  CHECK(err("missing.npy").find("cannot open") != std::string::npos);
  CHECK(err("").find("is not a regular file") != std::string::npos);  // the folder itself
  CHECK(err("stored.npz").find("use load_npz") != std::string::npos);
}

TEST_CASE("uint8 arrays load as int64 (label maps, images)") {
  Tensor t = load_npy(kData + "u8_3.npy");
  CHECK(t.dtype() == DType::Int64);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
  Tensor high =
      parse_npy(make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", "\xff\x80"), "u1");
  CHECK(high.to_vector<int64_t>() == std::vector<int64_t>{255, 128});
}

TEST_CASE("npy round trips keep shape, dtype and values, views included") {
  Tensor x = from_vector(std::vector<float>{1.5f, -2, 3e-7f, 4e20f, 0, -0.f}, {2, 3});
  Tensor xt = as_strided(x, {3, 2}, {1, 3}, 0);  // a transposed, non-contiguous view
  Tensor back = parse_npy(npy_bytes(xt), "test");
  CHECK(back.shape() == Shape{3, 2});
  CHECK(back.to_vector() == xt.to_vector());
  Tensor labels = from_vector(std::vector<int64_t>{5, -1, int64_t{1} << 50}, {3});
  CHECK(parse_npy(npy_bytes(labels), "test").to_vector<int64_t>() == labels.to_vector<int64_t>());
  Tensor scalar = from_vector(std::vector<float>{7.f}, {});
  CHECK(parse_npy(npy_bytes(scalar), "test").shape().empty());
  CHECK(parse_npy(npy_bytes(zeros({4, 0, 2})), "test").shape() == Shape{4, 0, 2});
  // NumPy's layout: a header padded so the data starts on a 64-byte boundary, ending in '\n'.
  std::string bytes = npy_bytes(x);
  CHECK(bytes.size() == 128 + 6 * 4);
  CHECK(bytes[127] == '\n');
  CHECK(bytes.substr(10, 50) == "{'descr': '<f4', 'fortran_order': False, 'shape': ");
  TempDir dir;
  save_npy(dir / "x.npy", x);
  CHECK(read_all(dir / "x.npy") == bytes);
  CHECK(load_npy(dir / "x.npy").to_vector() == x.to_vector());
}

TEST_CASE("load_npz reads np.savez and np.savez_compressed archives") {
  auto arrays = load_npz(kData + "stored.npz");
  REQUIRE(arrays.size() == 3);
  CHECK(arrays.at("weight").shape() == Shape{2, 3});
  CHECK(arrays.at("weight").at({0, 0}) == -0.625f);
  CHECK(arrays.at("blocks.2.bias").to_vector() == std::vector<float>{1.5f, -2.f});
  CHECK(arrays.at("labels").to_vector<int64_t>() == std::vector<int64_t>{0, 2, 1});
  if (npz_supports_deflate()) {
    auto d = load_npz(kData + "deflated.npz");
    CHECK(d.at("big").shape() == Shape{1000});
    CHECK(d.at("big").at({997}) == 7.f);
    CHECK(d.at("labels").to_vector<int64_t>() == std::vector<int64_t>{0, 2, 1});
  } else {
    CHECK_THROWS_WITH_AS(load_npz(kData + "deflated.npz"), doctest::Contains("built without zlib"), Error);
  }
  CHECK_THROWS_WITH_AS(load_npz(kData + "not_npy_member.npz"),
                       doctest::Contains("'readme.txt' is not a .npy"), Error);
  CHECK_THROWS_WITH_AS(load_npz(kData + "f4_2x3.npy"), doctest::Contains("use load_npy"), Error);
}

TEST_CASE("npz round trip, CRC-32, and atomic replacement") {
  CHECK(crc32("123456789") == 0xCBF43926u);  // the standard check value
  CHECK(crc32("6789", crc32("12345")) == 0xCBF43926u);
  Tensor w3 = empty({2, 3, 4});
  for (int64_t i = 0; i < 24; ++i) w3.data<float>()[i] = static_cast<float>(i) * 0.25f - 1.f;
  std::vector<std::pair<std::string, Tensor>> arrays{
      {"conv.weight", w3},
      {"labels", from_vector(std::vector<int64_t>{3, -1, int64_t{1} << 40}, {3})},
      {"scalar", from_vector(std::vector<float>{2.5f}, {})}};
  TempDir dir;
  std::string path = dir / "roundtrip.npz";
  save_npz(path, arrays);
  auto back = load_npz(path);
  REQUIRE(back.size() == 3);
  CHECK(back.at("conv.weight").shape() == Shape{2, 3, 4});
  CHECK(back.at("conv.weight").to_vector() == w3.to_vector());
  CHECK(back.at("labels").to_vector<int64_t>() == arrays[1].second.to_vector<int64_t>());
  CHECK(back.at("scalar").item() == 2.5f);
  CHECK(read_all(path) == npz_bytes(arrays));  // deterministic output
  // A failed save (duplicate names) leaves the previous file untouched and no temporary behind.
  std::string before = read_all(path);
  CHECK_THROWS_WITH_AS(save_npz(path, {{"a", w3}, {"a", w3}}), doctest::Contains("'a' appears twice"), Error);
  CHECK(read_all(path) == before);
  save_npz(path, {{"only", w3}});
  CHECK(load_npz(path).size() == 1);
  int files = 0;
  for (auto& entry : fs::directory_iterator(dir.path)) files += entry.is_regular_file();
  CHECK(files == 1);
  CHECK_THROWS_WITH_AS(save_npz(dir / "no/such/dir/x.npz", arrays), doctest::Contains("cannot create"),
                       Error);
  // Files for tools/gen_npy_fixtures.py --check (NumPy reads what we wrote), written on request.
  if (const char* out = std::getenv("CONVGRAD_NPY_EXPORT")) {
    save_npz(std::string(out) + "/roundtrip.npz", arrays);
    save_npy(std::string(out) + "/roundtrip.npy", w3);
  }
}

TEST_CASE("every truncation of a valid file is an Error, never a crash") {
  std::string npy = npy_bytes(from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {3, 2}));
  for (size_t n = 0; n < npy.size(); ++n)
    CHECK_THROWS_AS(parse_npy(std::string_view(npy).substr(0, n), "t"), Error);
  std::string npz = npz_bytes({{"a", ones({2, 2})}, {"b", arange(5, DType::Int64)}});
  for (size_t n = 0; n < npz.size(); ++n)
    CHECK_THROWS_AS(parse_npz(std::string_view(npz).substr(0, n), "t"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(npy.substr(0, npy.size() - 1), "x.npy"),
                       doctest::Contains("x.npy: truncated .npy file: shape [3, 2]"), Error);
  CHECK_THROWS_WITH_AS(parse_npz(npz.substr(0, npz.size() - 5), "ck.npz"),
                       doctest::Contains("no ZIP end-of-central-directory"), Error);
}

TEST_CASE("corrupted bytes give an Error or a valid tensor, never a crash") {
  std::string npz = read_all(kData + "stored.npz");
  Generator gen(7);
  Tensor picks = randint(0, static_cast<int64_t>(npz.size()), {400}, gen);
  int caught = 0;
  for (int64_t pos : picks.to_vector<int64_t>()) {
    std::string bad = npz;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x5a);
    try {
      parse_npz(bad, "fuzz");
    } catch (const Error&) {
      ++caught;
    }
  }
  CHECK(caught > 300);           // member bytes are CRC-protected; only a few header fields are unchecked
  if (npz_supports_deflate()) {  // deflate streams under corruption: zlib or the CRC must catch it
    std::string z = read_all(kData + "deflated.npz");
    for (int64_t p : randint(0, static_cast<int64_t>(z.size()), {300}, gen).to_vector<int64_t>()) {
      std::string bad = z;
      bad[p] = static_cast<char>(bad[p] ^ 0x21);
      try {
        parse_npz(bad, "fuzz");
      } catch (const Error&) {
      }
    }
    for (size_t n = 0; n < z.size(); ++n)
      CHECK_THROWS_AS(parse_npz(std::string_view(z).substr(0, n), "t"), Error);
  }
  // A flipped data byte is caught by the CRC and named.
  std::string bad = npz;
  size_t pos = bad.find("NUMPY") + 100;
  bad[pos] ^= 1;
  CHECK_THROWS_WITH_AS(parse_npz(bad, "ck.npz"), doctest::Contains("fails its CRC-32 check"), Error);
}

TEST_CASE("sizes declared in a file are checked before allocating") {
  std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  CHECK_THROWS_WITH_AS(parse_npy(make_npy(f4 + "(1000000000000,), }", "abcd"), "huge"),
                       doctest::Contains("needs 1000000000000 elements but only 4 bytes"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(make_npy(f4 + "(4294967296, 4294967296, 4294967296), }", ""), "huge"),
                       doctest::Contains("overflows int64"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(make_npy(f4 + "(99999999999999999999,), }", ""), "huge"),
                       doctest::Contains("overflows int64"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(make_npy(f4 + "(1,), }", std::string(8, '\0')), "long"),
                       doctest::Contains("4 bytes follow the data"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(make_npy(f4 + "(-1,), }", ""), "neg"), doctest::Contains("malformed"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_npy(make_npy(f4 + "(2,), 'extra': 1}", ""), "x"),
                       doctest::Contains("unexpected key"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(make_npy("{'descr': '<f4', 'shape': (1,)}", "abcd"), "x"),
                       doctest::Contains("lacks one of"), Error);
  std::string one("\0\0\x80\x3f", 4);                                      // 1.0f, little-endian
  CHECK(parse_npy(make_npy(f4 + "(1,), }", one, 2), "v2").item() == 1.f);  // version 2 header
  std::string v9 = make_npy(f4 + "(1,), }", "abcd");
  v9[6] = 9;
  CHECK_THROWS_WITH_AS(parse_npy(v9, "x"), doctest::Contains("format version 9.0"), Error);
  // A version 2 header claiming 4 GiB of header.
  std::string huge_header("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14);
  CHECK_THROWS_WITH_AS(parse_npy(huge_header, "x"), doctest::Contains("header length 4294967295"), Error);
  // A ZIP whose member claims more bytes than the file holds.
  std::string npz = npz_bytes({{"a", ones({2})}});
  size_t cd = npz.find("PK\x01\x02");
  for (int k = 0; k < 4; ++k) npz[cd + 20 + k] = npz[cd + 24 + k] = '\x7f';
  CHECK_THROWS_WITH_AS(parse_npz(npz, "z"), doctest::Contains("declares 2139062143 bytes"), Error);
  // ZIP64 markers are refused gracefully.
  std::string z64 = npz_bytes({{"a", ones({2})}});
  for (int k = 0; k < 4; ++k) z64[z64.size() - 6 + k] = '\xff';
  CHECK_THROWS_WITH_AS(parse_npz(z64, "z"), doctest::Contains("ZIP64"), Error);
}

TEST_CASE("writing: 65535 arrays need ZIP64, which is refused with an Error; 65534 are written and read") {
  std::vector<std::pair<std::string, Tensor>> arrays;
  Tensor one = from_vector(std::vector<float>{1.5f}, {1});
  for (int i = 0; i < 65535; ++i) arrays.emplace_back("a" + std::to_string(i), one);
  CHECK_THROWS_WITH_AS(npz_bytes(arrays),
                       doctest::Contains("65535 arrays exceed the ZIP limit of 65534 (ZIP64"), Error);
  TempDir dir;
  CHECK_THROWS_WITH_AS(save_npz(dir / "many.npz", arrays), doctest::Contains("ZIP64"), Error);
  CHECK_FALSE(fs::exists(dir / "many.npz"));
  arrays.pop_back();
  auto back = parse_npz(npz_bytes(arrays), "many");
  CHECK(back.size() == 65534);
  CHECK(back.at("a65533").to_vector() == std::vector<float>{1.5f});
}

TEST_CASE("a float64 value beyond the float32 range is an error naming the file, not a silent inf") {
  auto f64 = [](std::vector<double> values) {
    std::string data(values.size() * 8, '\0');
    std::memcpy(data.data(), values.data(), data.size());
    return make_npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(values.size()) + ",), }",
        data);
  };
  CHECK_THROWS_WITH_AS(
      parse_npy(f64({1.0, 1e39}), "big.npy"),
      doctest::Contains("big.npy: float64 value 1e+39 at flat index 1 is beyond the float32 range"), Error);
  CHECK_THROWS_WITH_AS(parse_npy(f64({-1e300}), "neg.npy"), doctest::Contains("neg.npy"), Error);
  // The largest float32 and the infinities and NaN stored in the file itself load as they are.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor t = parse_npy(f64({3.4028234663852886e38, -inf, inf, std::nan("")}), "edge.npy");
  CHECK(t.at({0}) == std::numeric_limits<float>::max());
  CHECK(t.at({1}) == -std::numeric_limits<float>::infinity());
  CHECK(t.at({2}) == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(t.at({3})));
  TempDir dir;
  std::ofstream(dir / "over.npy", std::ios::binary) << f64({0.5, -2e38, 7e38});
  CHECK_THROWS_WITH_AS(load_npy(dir / "over.npy"), doctest::Contains("over.npy"), Error);
}
