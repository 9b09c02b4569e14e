#include "sr_train.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/ops_math.h"
#include "autograd/ops_shape.h"
#include "core/threading.h"
#include "layers/data/loader.h"
#include "layers/loss.h"
#include "layers/lr_scheduler.h"
#include "layers/optim.h"
#include "progress.h"
#include "sr_checkpoint.h"
#include "sr_data.h"
#include "sr_eval.h"
#include "sr_visuals.h"

namespace convgrad::upsample {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Validation images are cut to their central kValSide x kValSide low-resolution pixels, so a
// validation costs the same for any photo size (`upsample eval` measures whole images).
constexpr int64_t kValSide = 96;

std::vector<SrPair> central_crops(std::vector<SrPair> pairs, int64_t scale) {
  for (SrPair& p : pairs) {
    const int64_t h = p.lr.size(1), w = p.lr.size(2), ch = std::min(h, kValSide), cw = std::min(w, kValSide);
    const int64_t top = (h - ch) / 2, left = (w - cw) / 2;
    p.lr = contiguous(slice(slice(p.lr, 1, top, top + ch), 2, left, left + cw));
    p.hr = contiguous(
        slice(slice(p.hr, 1, top * scale, (top + ch) * scale), 2, left * scale, (left + cw) * scale));
  }
  return pairs;
}

double mean_psnr(SrModel& model, const std::vector<SrPair>& pairs, bool bicubic) {
  NoGradGuard no_grad;
  const int64_t r = model.config().scale;
  double sum = 0;
  for (const SrPair& p : pairs) {
    Tensor x = unsqueeze(p.lr, 0);
    Tensor out = bicubic ? bicubic_upscale(x, r) : model.forward(x);
    sum += score_y(squeeze(out, 0), p.hr, r).psnr;
  }
  return sum / static_cast<double>(pairs.size());
}

Tensor loss_of(const std::string& kind, const Tensor& out, const Tensor& target) {
  return kind == "l1" ? l1_loss(out, target) : mse_loss(out, target);
}

std::string default_plot(const TrainConfig& c) {
  std::filesystem::path p(c.save);
  return (p.parent_path() / (p.stem().string() + "_curve.png")).string();
}

}  // namespace

TrainResult train(const TrainConfig& c) {
  validate(c.model);
  CONVGRAD_CHECK(c.crop >= c.model.scale && c.crop % c.model.scale == 0,
                 "upsample train: --crop {} must be a multiple of --scale {}", c.crop, c.model.scale);
  CONVGRAD_CHECK(c.loss == "mse" || c.loss == "l1", "upsample train: --loss must be mse or l1, got '{}'",
                 c.loss);
  set_num_threads(c.threads);
  const int64_t r = c.model.scale;
  auto photos = load_pairs(c.images, r, c.model.channels, c.crop / r);
  const size_t n_photos = photos.size();
  auto pairs = add_downscaled(std::move(photos), c.augment_scales, r, c.crop / r);
  std::vector<SrPair> val;
  if (!c.val_images.empty()) val = central_crops(load_pairs(c.val_images, r, c.model.channels, 8), r);
  auto dataset = std::make_shared<SrCrops>(pairs, r, c.crop, c.steps * c.batch, c.by_area);
  data::DataLoader loader(
      dataset,
      data::DataLoaderOptions().batch_size(c.batch).shuffle(true).drop_last(true).num_workers(c.workers).seed(
          c.seed));
  Generator gen(c.seed);
  std::shared_ptr<SrModel> model = make_sr_model(c.model, gen);
  Adam opt(model->parameters(), AdamOptions(c.lr));
  CosineAnnealingLR schedule(opt, c.steps);

  TrainResult res;
  if (!val.empty()) res.val_bicubic = mean_psnr(*model, val, true);
  if (!c.json)
    fmt::print(
        "{} x{} on {} ({} image{}{}{}), {} steps x batch {} of {}x{} crops, Adam lr {} (cosine), {} loss, "
        "{} loader worker{}, {} threads\n",
        model->name(), r, c.images, n_photos, n_photos == 1 ? "" : "s",
        pairs.size() > n_photos ? fmt::format(", {} with downscaled copies", pairs.size()) : "",
        val.empty() ? "" : fmt::format("; validation on {} held-out", val.size()), c.steps, c.batch, c.crop,
        c.crop, c.lr, c.loss, c.workers, c.workers == 1 ? "" : "s", c.threads);
  example::ProgressBar progress(c.steps, !c.json && example::is_terminal(stdout), c.log_every);
  const int64_t val_every = c.val_points > 0 ? std::max<int64_t>(1, c.steps / c.val_points) : 0;
  const int64_t tenth = std::max<int64_t>(1, c.steps / 10);
  double train_s = 0, smooth_loss = 0, smooth_mse = 0, first_sum = 0, last_sum = 0;
  int64_t step = 0, last_n = 0;
  auto t0 = Clock::now();
  for (data::Batch& b : loader) {
    if (step >= c.steps) break;
    opt.zero_grad();
    Tensor out, loss;
    {
      // --bf16: convolutions in bfloat16, the loss, the backward pass and the optimizer in float32.
      AutocastGuard autocast(DType::BFloat16, c.bf16);
      out = model->forward(b.input);
      loss = loss_of(c.loss, out, b.target);
    }
    loss.backward();
    opt.step();
    schedule.step();
    ++step;
    const double l = loss.item<float>();
    double mse = l;
    if (c.loss != "mse") {
      NoGradGuard no_grad;
      mse = mse_loss(out, b.target).item<float>();
    }
    smooth_loss = step == 1 ? l : 0.95 * smooth_loss + 0.05 * l;
    smooth_mse = step == 1 ? mse : 0.95 * smooth_mse + 0.05 * mse;
    if (step <= tenth) first_sum += l;
    if (step > c.steps - tenth) last_sum += l, ++last_n;
    const double train_psnr = 10 * std::log10(1 / std::max(smooth_mse, 1e-12));
    if (step % std::max<int64_t>(1, c.steps / 200) == 0) res.train_curve.push_back({step, train_psnr});
    const double elapsed = train_s + seconds_since(t0);
    if (!c.json)
      progress.update(step,
                      fmt::format("loss {:.5f}  {:.2f} dB  {:.0f} img/s", smooth_loss, train_psnr,
                                  c.batch * step / elapsed),
                      elapsed);
    if (val_every > 0 && !val.empty() && (step % val_every == 0 || step == c.steps)) {
      train_s += seconds_since(t0);
      model->eval();
      res.val.push_back({step, mean_psnr(*model, val, false)});
      model->train();
      t0 = Clock::now();
    }
  }
  train_s += seconds_since(t0);
  if (!c.json) progress.finish();
  res.steps = step;
  res.seconds = train_s;
  res.images_per_s = step * c.batch / std::max(train_s, 1e-9);
  res.first_loss = first_sum / static_cast<double>(std::min(tenth, std::max<int64_t>(step, 1)));
  res.last_loss = last_sum / static_cast<double>(std::max<int64_t>(last_n, 1));
  model->eval();
  const std::string plot = c.plot.empty() ? default_plot(c) : c.plot;
  for (const std::string& file : {c.save, plot})
    if (std::filesystem::path parent = std::filesystem::path(file).parent_path(); !parent.empty())
      std::filesystem::create_directories(parent);
  save_sr_checkpoint(*model, c.save, step);
  write_training_curve(plot, res, model->name(), r);
  if (!c.json) {
    fmt::print("trained {} steps in {:.1f} s ({:.0f} crops/s); loss {:.5f} -> {:.5f}\n", step, train_s,
               res.images_per_s, res.first_loss, res.last_loss);
    if (!res.val.empty())
      fmt::print("held-out (central {}x{} crops, Y): model {:.2f} dB, bicubic {:.2f} dB ({:+.2f} dB)\n",
                 kValSide * r, kValSide * r, res.val.back().psnr, res.val_bicubic,
                 res.val.back().psnr - res.val_bicubic);
    fmt::print("wrote {} and {}\n", c.save, plot);
  }
  return res;
}

int run_train(const TrainConfig& c) {
  TrainResult res = train(c);
  if (c.json) {
    fmt::print(
        "{{\"model\": \"{}\", \"scale\": {}, \"steps\": {}, \"seconds\": {:.3f}, \"images_per_s\": {:.1f}, "
        "\"first_loss\": {:.6g}, \"last_loss\": {:.6g}, \"val_psnr\": {}, \"val_psnr_bicubic\": {}}}\n",
        c.model.arch, c.model.scale, res.steps, res.seconds, res.images_per_s, res.first_loss, res.last_loss,
        res.val.empty() ? "null" : fmt::format("{:.4f}", res.val.back().psnr),
        res.val.empty() ? "null" : fmt::format("{:.4f}", res.val_bicubic));
  }
  return std::isfinite(res.last_loss) ? 0 : 1;
}

}  // namespace convgrad::upsample
