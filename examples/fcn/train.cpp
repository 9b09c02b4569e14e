#include "train.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/ops_shape.h"
#include "layers/loss.h"
#include "layers/lr_scheduler.h"
#include "layers/optim.h"
#include "metrics.h"
#include "progress.h"

namespace convgrad::fcn {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::unique_ptr<Optimizer> make_optimizer(const TinyFCN& model, const FcnConfig& c) {
  double lr = c.lr > 0 ? c.lr : default_lr(c.optimizer);
  if (c.optimizer == "adam") return std::make_unique<Adam>(model.parameters(), AdamOptions(lr));
  if (c.optimizer == "sgd")
    return std::make_unique<SGD>(model.parameters(), SGDOptions(lr).momentum(0.9).weight_decay(1e-4));
  fail("fcn: unknown optimizer '{}' (expected adam or sgd)", c.optimizer);
}

double batch_accuracy(const Tensor& logits, const Tensor& labels) {
  ConfusionMatrix cm(kClasses);
  cm.add(predict_classes(logits), labels);
  return cm.pixel_accuracy();
}

}  // namespace

// Adam at 6e-3 with cosine decay learned fastest with batch 8 (the PyTorch script uses 3e-3, batch 32).
std::string step_metrics(const StepStats& st) {
  return fmt::format("loss {:.4f}  acc {:.3f}  {:.0f} img/s", st.loss, st.accuracy, st.images_per_s);
}

double default_lr(const std::string& optimizer) { return optimizer == "sgd" ? 0.05 : 6e-3; }

TrainLog train(TinyFCN& model, const ShapesDataset& data, const FcnConfig& c) {
  CONVGRAD_CHECK(c.schedule == "cosine" || c.schedule == "constant",
                 "fcn: unknown schedule '{}' (expected cosine or constant)", c.schedule);
  TrainLog log;
  if (c.steps <= 0) return log;
  model.train();
  std::unique_ptr<Optimizer> opt = make_optimizer(model, c);
  // Cosine decay from the base rate to 0 over the run: big steps early, fine ones at the end.
  std::unique_ptr<CosineAnnealingLR> schedule;
  if (c.schedule == "cosine") schedule = std::make_unique<CosineAnnealingLR>(*opt, c.steps);
  example::ProgressBar progress(c.steps, !c.json && example::is_terminal(stdout), c.log_every, stdout);
  std::vector<double> step_s;
  double smooth_loss = 0, smooth_acc = 0;
  const auto t0 = Clock::now();
  for (int64_t step = 0; step < c.steps; ++step) {
    Batch b = data.batch(step * c.batch % data.size(), c.batch);
    const auto ts = Clock::now();
    opt->zero_grad();
    Tensor logits, loss;
    {
      // --bf16: convolutions in bfloat16, the loss, the backward pass and the optimizer in float32.
      AutocastGuard autocast(DType::BFloat16, c.bf16);
      logits = model.forward(b.images);
      loss = cross_entropy(logits, b.labels);
    }
    loss.backward();
    opt->step();
    step_s.push_back(seconds_since(ts));
    if (schedule) schedule->step();

    double l = loss.item<float>(), acc = batch_accuracy(logits.detach(), b.labels);
    CONVGRAD_CHECK(std::isfinite(l), "fcn: the loss became {} at step {}; try a smaller --lr", l, step + 1);
    log.loss.push_back(l);
    log.accuracy.push_back(acc);
    smooth_loss = step == 0 ? l : 0.9 * smooth_loss + 0.1 * l;
    smooth_acc = step == 0 ? acc : 0.9 * smooth_acc + 0.1 * acc;
    double elapsed = seconds_since(t0);
    if (!c.json)
      progress.update(step + 1,
                      step_metrics({step + 1, smooth_loss, smooth_acc, c.batch * (step + 1) / elapsed}),
                      elapsed);
  }
  log.train_s = seconds_since(t0);
  progress.finish();
  std::vector<double> sorted = step_s;
  std::sort(sorted.begin(), sorted.end());
  double median = sorted[sorted.size() / 2];
  log.step_ms = median * 1e3;
  log.images_per_s = c.batch / median;
  return log;
}

EvalResult evaluate(TinyFCN& model, const ShapesDataset& data, int64_t batch, int64_t keep) {
  NoGradGuard no_grad;
  model.eval();
  ConfusionMatrix cm(kClasses);
  EvalResult r;
  for (int64_t start = 0; start < data.size(); start += batch) {
    Batch b = data.batch(start, std::min(batch, data.size() - start));
    Tensor pred = predict_classes(model.forward(b.images));
    cm.add(pred, b.labels);
    if (start == 0) {
      int64_t k = std::min(keep, b.images.size(0));
      r.images = slice(b.images, 0, 0, k);
      r.predictions = slice(pred, 0, 0, k);
      r.labels = slice(b.labels, 0, 0, k);
    }
  }
  model.train();
  r.pixel_acc = cm.pixel_accuracy();
  r.miou = cm.mean_iou();
  r.iou = cm.iou();
  return r;
}

std::string result_json(const EvalResult& e, const TrainLog& log, int64_t steps) {
  std::string ious;
  for (size_t i = 0; i < e.iou.size(); ++i)
    ious +=
        fmt::format("{}{}", i ? ", " : "", std::isnan(e.iou[i]) ? "null" : fmt::format("{:.4f}", e.iou[i]));
  return fmt::format(
      "{{\"pixel_acc\": {:.4f}, \"miou\": {:.4f}, \"per_class_iou\": [{}], \"steps\": {}, \"train_s\": {:.2f}, "
      "\"step_ms\": {:.2f}, \"images_per_s\": {:.1f}}}",
      e.pixel_acc, e.miou, ious, steps, log.train_s, log.step_ms, log.images_per_s);
}

}  // namespace convgrad::fcn
