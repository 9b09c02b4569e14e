// CONVGRAD_ARG (core/arg.h): defaults, chained setters on named and temporary options, move-only
// values taken by rvalue, the mutable getter, and the options classes written with it.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/arg.h"
#include "layers/convgrad.h"

using namespace convgrad;

namespace {

class ToyOptions {
 public:
  explicit ToyOptions(int64_t size) : size_(size) {}
  CONVGRAD_ARG(int64_t, size);
  CONVGRAD_ARG(double, scale) = 0.5;
  CONVGRAD_ARG(std::string, label) = "toy";
  CONVGRAD_ARG(std::vector<int>, items);
  CONVGRAD_ARG(std::shared_ptr<int>, handle);
};

}  // namespace

TEST_CASE("CONVGRAD_ARG: defaults, chaining on a named object, on a temporary") {
  ToyOptions named(3);
  CHECK(named.size() == 3);
  CHECK(named.scale() == 0.5);
  CHECK(named.label() == "toy");
  CHECK(named.items().empty());

  ToyOptions& same = named.scale(2.0).label("x").size(7);
  CHECK(&same == &named);
  CHECK(named.scale() == 2.0);
  CHECK(named.label() == "x");
  CHECK(named.size() == 7);

  // Setters on a temporary chain and the result copies into a value.
  ToyOptions tmp = ToyOptions(1).items({1, 2, 3}).scale(-1.0);
  CHECK(tmp.items() == std::vector<int>{1, 2, 3});
  CHECK(tmp.scale() == -1.0);
  CHECK(tmp.size() == 1);

  static_assert(std::is_same_v<decltype(named.scale(1.0)), ToyOptions&>);
  static_assert(std::is_same_v<decltype(std::as_const(named).scale()), const double&>);
}

TEST_CASE("CONVGRAD_ARG: an rvalue is moved in, an lvalue is copied") {
  ToyOptions o(1);
  auto p = std::make_shared<int>(42);
  o.handle(p);  // copied: both hold it
  CHECK(p.use_count() == 2);
  o.handle(std::move(p));  // moved: the options hold the only reference
  CHECK(p == nullptr);
  CHECK(o.handle().use_count() == 1);
  CHECK(*o.handle() == 42);

  std::string long_label(100, 'a');
  const char* buffer = long_label.data();
  o.label(std::move(long_label));
  CHECK(o.label().data() == buffer);  // the heap buffer was taken over, not copied
}

TEST_CASE("CONVGRAD_ARG: the non-const getter is a reference to the stored value") {
  ToyOptions o(1);
  o.items().push_back(5);
  o.scale() *= 4.0;
  CHECK(o.items() == std::vector<int>{5});
  CHECK(o.scale() == 2.0);
}

TEST_CASE("options written with CONVGRAD_ARG keep PyTorch's names and defaults") {
  auto lin = LinearOptions(4, 5).bias(false);
  CHECK(lin.in_features() == 4);
  CHECK(lin.out_features() == 5);
  CHECK(!lin.bias());

  auto bn = BatchNorm2dOptions(8).eps(1e-3f).momentum(std::nullopt).affine(false);
  CHECK(bn.num_features() == 8);
  CHECK(bn.eps() == 1e-3f);
  CHECK(!bn.momentum().has_value());
  CHECK(!bn.affine());
  CHECK(bn.track_running_stats());

  CHECK(DropoutOptions().p() == 0.5f);
  CHECK(DropoutOptions(0.2f).p() == 0.2f);
  CHECK(LeakyReLUOptions().negative_slope(0.2f).negative_slope() == 0.2f);
  CHECK(FlattenOptions().start_dim(2).end_dim() == -1);

  auto sgd = SGDOptions(0.1).momentum(0.9).nesterov(true);
  CHECK(sgd.lr() == 0.1);
  CHECK(sgd.momentum() == 0.9);
  CHECK(sgd.nesterov());
  CHECK(sgd.dampening() == 0.0);

  auto adam = AdamOptions(1e-2).betas(0.8, 0.99).amsgrad(true);
  static_assert(std::is_same_v<decltype(AdamOptions().eps(1.0)), AdamOptions&>);
  static_assert(std::is_same_v<decltype(AdamWOptions().eps(1.0)), AdamWOptions&>);
  CHECK(adam.lr() == 1e-2);
  CHECK(adam.beta1() == 0.8);
  CHECK(adam.beta2() == 0.99);
  CHECK(adam.amsgrad());
  CHECK(adam.weight_decay() == 0.0);
  CHECK(AdamWOptions().weight_decay() == 1e-2);

  auto dl = data::DataLoaderOptions().batch_size(4).shuffle(true).seed(9);
  CHECK(dl.batch_size() == 4);
  CHECK(dl.shuffle());
  CHECK(dl.seed() == 9u);
  CHECK(dl.prefetch_factor() == 2);

  auto conv = Conv2dOptions(3, 8, 3).stride(2).padding(1).groups(1).bias(false);
  CHECK(conv.in_channels() == 3);
  CHECK(conv.kernel_size() == Pair{3, 3});
  CHECK(conv.stride() == Pair{2, 2});
  CHECK(conv.padding() == Pair{1, 1});
  CHECK(!conv.bias());
  CHECK(conv.padding_mode() == ConvPaddingMode::Zeros);
}
