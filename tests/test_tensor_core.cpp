// Tensor storage, views, factories and random generators.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "core/factory.h"
#include "core/random.h"
#include "core/tensor.h"

using namespace convgrad;

TEST_CASE("factories fill shapes with the asked values") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.numel() == 6);
  CHECK(z.is_contiguous());
  CHECK(z.to_vector() == std::vector<float>(6, 0.f));
  CHECK(full({2}, 2.5).to_vector() == std::vector<float>{2.5f, 2.5f});
  CHECK(arange(4).to_vector() == std::vector<float>{0, 1, 2, 3});
  CHECK(arange(1, 2, 0.25).to_vector() == std::vector<float>{1, 1.25f, 1.5f, 1.75f});
  Tensor t = tensor({{0, 1}, {2, 3}});
  CHECK(t.shape() == Shape{2, 2});
  CHECK(t.at({1, 0}) == 2.f);
  CHECK(t.at({-1, -1}) == 3.f);
  Tensor l = from_vector(std::vector<int64_t>{3, 1}, {2});
  CHECK(l.dtype() == DType::Int64);
  CHECK(l.at<int64_t>({0}) == 3);
}

TEST_CASE("views share storage and read through strides") {
  Tensor t = arange(6);
  Tensor v = as_strided(t, {2, 3}, {1, 2}, 0);  // the transpose of a 3x2 matrix
  CHECK_FALSE(v.is_contiguous());
  CHECK(v.to_vector() == std::vector<float>{0, 2, 4, 1, 3, 5});
  t.data<float>()[2] = 9.f;
  CHECK(v.at({0, 1}) == 9.f);
  CHECK(clone_data(v).is_contiguous());
}

TEST_CASE("invalid uses throw convgrad::Error naming the problem") {
  CHECK_THROWS_WITH_AS(from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                       doctest::Contains("3 values do not fill shape [2, 2]"), Error);
  CHECK_THROWS_WITH_AS(zeros({2}).item(), doctest::Contains("one element"), Error);
  CHECK_THROWS_WITH_AS(zeros({2}).data<int64_t>(), doctest::Contains("holds float32"), Error);
  CHECK_THROWS_WITH_AS(zeros({2, 2}).size(2), doctest::Contains("dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(zeros({-1}), doctest::Contains("non-negative"), Error);
  CHECK_THROWS_WITH_AS(zeros({int64_t(1) << 40, int64_t(1) << 40}), doctest::Contains("overflow"), Error);
  CHECK_THROWS_AS(Tensor().shape(), Error);
  CHECK_THROWS_WITH_AS(zeros({2}, DType::Int64).set_requires_grad(), doctest::Contains("float32"), Error);
}

TEST_CASE("generators are reproducible from their seed") {
  Generator a(42), b(42), c(7);
  auto x = randn({100}, a).to_vector(), y = randn({100}, b).to_vector(), z = randn({100}, c).to_vector();
  CHECK(x == y);
  CHECK(x != z);
  double mean = 0, var = 0;
  Generator g(1);
  auto big = randn({20000}, g).to_vector();
  for (float v : big) mean += v;
  mean /= big.size();
  for (float v : big) var += (v - mean) * (v - mean);
  var /= big.size();
  CHECK(std::abs(mean) < 0.03);
  CHECK(std::abs(var - 1.0) < 0.05);
  auto u = uniform({1000}, -2.f, 3.f, g).to_vector();
  for (float v : u) CHECK((v >= -2.f && v < 3.f));
  auto r = randint(0, 4, {1000}, g).to_vector<int64_t>();
  for (auto v : r) CHECK((v >= 0 && v < 4));
}

TEST_CASE("as_strided checks the view against its storage") {
  Tensor base = arange(10);  // a storage of 10 float32 elements
  CHECK(as_strided(base, {2}, {1}, 8).to_vector() == std::vector<float>{8, 9});  // the last two: fine
  CHECK(as_strided(base, {3, 2}, {0, 9}, 0).to_vector() == std::vector<float>{0, 9, 0, 9, 0, 9});
  CHECK(as_strided(base, {0, 5}, {100, 1}, 10).numel() == 0);  // an empty view addresses nothing
  auto message = [&](const Shape& shape, const Shape& strides, int64_t offset) -> std::string {
    try {
      as_strided(base, shape, strides, offset);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(message({2}, {1}, 9).find("address element 10 of a storage of 10 float32 elements") !=
        std::string::npos);
  CHECK(message({2, 2}, {5, 1}, 5).find("[2, 2], strides [5, 1] and storage offset 5") != std::string::npos);
  CHECK(message({1}, {1}, -1).find("storage offset -1 is negative") != std::string::npos);
  CHECK(message({2}, {-1}, 1).find("negative strides are not supported") != std::string::npos);
  CHECK(message({2}, {INT64_MAX}, 0).find("address element 9223372036854775807") != std::string::npos);
  CHECK(message({3}, {INT64_MAX / 2 + 1}, 0).find("past int64") != std::string::npos);
  CHECK(message({2}, {1}, INT64_MAX).find("past int64") != std::string::npos);
  // The int64 view of the same bytes counts 8-byte elements.
  Tensor ints = zeros({3}, DType::Int64);
  CHECK_NOTHROW(as_strided(ints, {3}, {1}, 0));
  CHECK_THROWS_AS(as_strided(ints, {2}, {1}, 2), Error);
}

TEST_CASE("the element count overflow check does not depend on the order of the dims") {
  const int64_t big = int64_t{1} << 62;
  // The product of the non-zero sizes must fit in int64, a zero anywhere or not.
  for (const Shape& shape : {Shape{4, big, 0}, Shape{0, big, 4}, Shape{big, 0, 4}, Shape{0, INT64_MAX, 2}}) {
    CAPTURE(shape_str(shape));
    CHECK_THROWS_WITH_AS(zeros(shape), doctest::Contains("overflows int64"), Error);
    CHECK_THROWS_AS(shape_numel(shape), Error);
  }
  CHECK(zeros({0, big, 1}).numel() == 0);  // the product fits: an empty tensor
  CHECK(zeros({1, big, 0}).numel() == 0);
  CHECK(zeros({1, big, 0}).strides() == Shape{big, 1, 1});
  CHECK(zeros({0, INT64_MAX}).numel() == 0);
  CHECK(shape_numel({3, 0, 5}) == 0);
  CHECK(shape_numel({}) == 1);
}
