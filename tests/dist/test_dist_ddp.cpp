// Data-parallel training under `mpirun -np 2`: collectives, DistributedDataParallel against one process
// with the whole batch, no_sync, and checkpoints written by rank 0. The case "checkpoint loads in one
// process" runs afterwards without mpirun (a ctest fixture) on the file the 2-rank run wrote.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include "../test_tiny_fcn.h"
#include "autograd/ops.h"
#include "core/dist.h"
#include "core/factory.h"
#include "layers/checkpoint.h"
#include "layers/distributed.h"
#include "layers/loss.h"
#include "layers/optim.h"

using namespace convgrad;

namespace {

constexpr int64_t kBatch = 8;
const std::string kDir = CONVGRAD_DIST_OUT;

// Max |a - b| over max |b|: the relative distance of two tensors (NaN propagates).
double rel_diff(const Tensor& a, const Tensor& b) {
  const float *pa = a.data<float>(), *pb = b.data<float>();
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(pa[i] - pb[i])));
    if (std::isnan(pa[i])) diff = NAN;
    scale = std::max(scale, static_cast<double>(std::fabs(pb[i])));
  }
  return diff / std::max(scale, 1e-30);
}

struct Data {
  Tensor x, y;
};
// The global batch of step `s`, identical on every rank.
Data batch(int s) {
  Generator gen(1000 + static_cast<uint64_t>(s));
  Tensor x = randn({kBatch, 3, 16, 16}, gen);
  return {x, randn({kBatch, 4, 16, 16}, gen)};
}
// Rank r's share of the global batch: samples [r * B / world, (r + 1) * B / world).
Tensor shard(const Tensor& t) {
  const int64_t per = kBatch / dist::world_size(), r = dist::rank();
  return contiguous(slice(t, 0, r * per, (r + 1) * per));
}

// `steps` Adam steps of `model` on its share of each global batch (the whole batch when not distributed).
void train(Module& model, const std::vector<Tensor>& params, int steps, bool sharded) {
  // [doc:ddp_loop]
  Adam opt(params, AdamOptions(1e-3));
  for (int s = 0; s < steps; ++s) {
    Data d = batch(s);
    opt.zero_grad();
    Tensor out = model(sharded ? shard(d.x) : d.x);
    mse_loss(out, sharded ? shard(d.y) : d.y).backward();  // gradients averaged over the ranks here
    opt.step();
  }
  // [/doc]
}

double metric(Module& model) {
  Data d = batch(99);
  return mse_loss(model(d.x), d.y).item<float>();
}

}  // namespace

TEST_CASE("collectives on two ranks") {
  REQUIRE(dist::world_size() == 2);
  const int r = dist::rank();
  Tensor t = full({3}, r + 1.0);
  dist::all_reduce(t);
  for (int i = 0; i < 3; ++i) CHECK(t.data<float>()[i] == 3.0f);
  Tensor m = full({2, 2}, r + 1.0);
  dist::all_reduce(m, dist::ReduceOp::Mean);
  CHECK(m.data<float>()[3] == 1.5f);
  Tensor b = full({4}, 10.0 * r + 7);
  dist::broadcast(b, 1);
  CHECK(b.data<float>()[0] == 17.0f);
  Tensor i64 = from_vector(std::vector<int64_t>{r * 5 + 1}, {1});
  dist::broadcast(i64, 0);
  CHECK(i64.data<int64_t>()[0] == 1);
  dist::barrier();
  // A non-blocking sum completes by polling test() alone.
  std::vector<float> buf = {r + 1.0f, 2.0f};
  dist::Work w = dist::all_reduce_sum_async(buf.data(), 2, "test all-reduce");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool done = false;
  while (!(done = w.test()) && std::chrono::steady_clock::now() < until) {
  }
  CHECK(done);
  CHECK(buf[0] == 3.0f);
  CHECK(buf[1] == 4.0f);
  CHECK_THROWS_WITH_AS(dist::all_reduce(expand(full({1, 2}, 1.0), {2, 2})),
                       doctest::Contains("contiguous float32"), Error);
}

// Reduction order: each rank's gradient is the mean over its 4 samples; the all-reduce sums the two
// ranks' buckets (a sum of two floats is the same in either order, so both ranks get one bit pattern) and
// divides by 2, which equals the mean over 8 up to the rounding of the split sums (~1e-7 relative).
TEST_CASE("two ranks with batch 4 each match one process with batch 8 after 20 Adam steps") {
  Generator g_ref(7);
  auto reference = testing::tiny_fcn(g_ref);
  train(*reference, reference->parameters(), 20, false);

  Generator g(7 +
              100 * static_cast<uint64_t>(dist::rank()));  // rank 1 starts elsewhere: the broadcast fixes it
  auto ddp = std::make_shared<DistributedDataParallel>(testing::tiny_fcn(g),
                                                       DistributedDataParallelOptions().bucket_cap_mb(0.02));
  CHECK(ddp->bucket_sizes().size() > 1);  // several buckets, started while backward runs
  train(*ddp, ddp->parameters(), 20, true);

  const auto got = ddp->module()->named_parameters(), want = reference->named_parameters();
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    INFO(got[k].first);
    CHECK(!(rel_diff(got[k].second, want[k].second) > 1e-5));
  }
  // The same training without the gradient all-reduce drifts far beyond that tolerance.
  Generator g2(7);
  auto alone = testing::tiny_fcn(g2);
  {
    Adam opt(alone->parameters(), AdamOptions(1e-3));
    for (int s = 0; s < 20; ++s) {
      Data d = batch(s);
      opt.zero_grad();
      mse_loss((*alone)(shard(d.x)), shard(d.y)).backward();
      opt.step();
    }
  }
  double worst = 0;
  for (size_t k = 0; k < want.size(); ++k)
    worst = std::max(worst, rel_diff(alone->named_parameters()[k].second, want[k].second));
  CHECK(worst > 1e-3);
}

TEST_CASE("no_sync accumulates locally and the next backward averages the sum") {
  Generator g(3);
  auto ddp = std::make_shared<DistributedDataParallel>(testing::tiny_fcn(g));
  Generator g_ref(3);
  auto reference = testing::tiny_fcn(g_ref);
  Data d1 = batch(0), d2 = batch(1);
  {
    auto guard = ddp->no_sync();
    mse_loss((*ddp)(shard(d1.x)), shard(d1.y)).backward();
  }
  const Tensor w = ddp->module()->parameters()[0];
  Tensor local = clone_data(w.grad());  // not synchronised: the ranks differ
  Tensor other = clone_data(local);
  dist::broadcast(other, 0);
  if (dist::rank() == 1) CHECK(rel_diff(local, other) > 1e-3);
  mse_loss((*ddp)(shard(d2.x)), shard(d2.y)).backward();
  // Reference: mean over ranks of (grad of micro-batch 1 + grad of micro-batch 2), each a mean over 4.
  for (const Data* d : {&d1, &d2})
    for (int64_t r = 0; r < 2; ++r)
      mse_loss((*reference)(contiguous(slice(d->x, 0, 4 * r, 4 * r + 4))),
               contiguous(slice(d->y, 0, 4 * r, 4 * r + 4)))
          .backward();
  Tensor want = reference->parameters()[0].grad();
  for (int64_t i = 0; i < want.numel(); ++i) want.data<float>()[i] /= 2;
  CHECK(!(rel_diff(w.grad(), want) > 1e-5));
}

TEST_CASE("a parameter without a gradient is reported at the next forward") {
  Generator g(5);
  auto ddp = std::make_shared<DistributedDataParallel>(testing::tiny_fcn(g));
  Data d = batch(0);
  Tensor out = ddp->module()->children()[0]->forward(shard(d.x));  // only the first conv takes part
  sum(out).backward();
  CHECK_THROWS_WITH_AS((*ddp)(shard(d.x)), doctest::Contains("no gradient to 2.weight"), Error);
}

TEST_CASE("backward with create_graph is refused; grad() for a penalty and the next step work") {
  Generator g(9);
  auto ddp = std::make_shared<DistributedDataParallel>(testing::tiny_fcn(g),
                                                       DistributedDataParallelOptions().bucket_cap_mb(0.02));
  Data d = batch(0);
  Tensor loss = mse_loss((*ddp)(shard(d.x)), shard(d.y));
  CHECK_THROWS_WITH_AS(backward(loss, Tensor(), false, /*create_graph=*/true),
                       doctest::Contains("create_graph"), Error);
  for (const Tensor& p : ddp->parameters()) p.set_grad(Tensor());
  // A gradient penalty taken with grad() runs no hook; the first-order backward then averages as usual.
  const std::vector<Tensor> params = ddp->parameters();
  Tensor out = (*ddp)(shard(d.x));
  Tensor l = mse_loss(out, shard(d.y));
  Tensor gw = grad({l}, {params.back()}, {}, true, /*create_graph=*/true)[0];
  add(l, mul(sum(mul(gw, gw)), full({}, 0.1))).backward();
  Tensor mine = clone_data(params[0].grad()), theirs = clone_data(mine);
  dist::broadcast(theirs, 0);
  CHECK(!(rel_diff(mine, theirs) > 0));  // identical on both ranks: the all-reduce ran
}

TEST_CASE("a checkpoint written by rank 0 loads on every rank with the same metric") {
  Generator g(11);
  auto ddp = std::make_shared<DistributedDataParallel>(testing::tiny_fcn(g));
  Adam opt(ddp->parameters(), AdamOptions(1e-3));
  for (int s = 0; s < 3; ++s) {
    Data d = batch(s);
    opt.zero_grad();
    mse_loss((*ddp)(shard(d.x)), shard(d.y)).backward();
    opt.step();
  }
  const std::string path = kDir + "/dist_checkpoint.npz";
  dist::save(*ddp->module(), opt, path);
  const double m = metric(*ddp->module());
  if (dist::rank() == 0) std::ofstream(kDir + "/dist_checkpoint_metric.txt") << fmt::format("{:.9g}", m);
  Generator g2(12);
  auto fresh = testing::tiny_fcn(g2);
  load(*fresh, path);
  CHECK(metric(*fresh) == m);
  dist::barrier();
}

TEST_CASE("single process: the 2-rank checkpoint gives the same metric" * doctest::skip(true)) {
  REQUIRE(dist::world_size() == 1);
  Generator g(12);
  auto fresh = testing::tiny_fcn(g);
  const double before = metric(*fresh);
  load(*fresh, kDir + "/dist_checkpoint.npz");
  double want = 0;
  std::ifstream(kDir + "/dist_checkpoint_metric.txt") >> want;
  CHECK(want != before);
  CHECK(fmt::format("{:.9g}", metric(*fresh)) == fmt::format("{:.9g}", want));
}

int main(int argc, char** argv) {
  dist::Context context;
  doctest::Context runner(argc, argv);
  const int failed = runner.run();
  // Every rank reports to mpirun: one failing rank fails the test.
  Tensor status = full({1}, failed ? 1.0 : 0.0);
  dist::all_reduce(status);
  return (failed || status.item<float>() > 0) ? 1 : 0;
}
