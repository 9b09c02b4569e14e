#include "autograd/node.h"

#include <fmt/format.h>

#include <atomic>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"

namespace convgrad {

namespace {
std::atomic<int64_t> g_live_nodes{0};
thread_local bool t_grad_enabled = true;
// The op whose backward closure runs on this thread (SavedTensor names it in its error).
thread_local const std::string* t_running_op = nullptr;

// Moves out the producer nodes of inputs that nobody else holds, so they die in a loop, not a recursion.
void steal_producers(std::vector<Tensor>& inputs, std::vector<std::shared_ptr<Node>>& stack) {
  for (auto& t : inputs) {
    const auto& impl = t.impl_ptr();
    if (impl && impl.use_count() == 1 && impl->autograd.grad_fn)
      stack.push_back(std::move(impl->autograd.grad_fn));
  }
  inputs.clear();
}
// Tensor::backward reaches the engine through this hook, so core never includes autograd. It lives in
// the file every graph-building op links, so a static library cannot drop it.
[[maybe_unused]] const bool g_hook_registered = [] {
  detail::set_backward_hook([](const Tensor& root, const Tensor& gradient, bool retain_graph,
                               bool create_graph) { backward(root, gradient, retain_graph, create_graph); });
  return true;
}();
}  // namespace

bool GradMode::is_enabled() { return t_grad_enabled; }
void GradMode::set_enabled(bool enabled) { t_grad_enabled = enabled; }

Node::Node(std::string name, std::vector<Tensor> inputs, BackwardFn backward, Shape output_shape,
           DoubleBackward double_backward)
    : name_(std::move(name)),
      inputs_(std::move(inputs)),
      backward_(std::move(backward)),
      output_shape_(std::move(output_shape)),
      double_backward_(double_backward) {
  ++g_live_nodes;
}

Node::~Node() {
  // The closure may hold the inputs too: drop it first so use counts tell who else holds them.
  backward_ = nullptr;
  std::vector<std::shared_ptr<Node>> stack;
  steal_producers(inputs_, stack);
  while (!stack.empty()) {
    std::shared_ptr<Node> node = std::move(stack.back());
    stack.pop_back();
    if (node.use_count() == 1) {
      node->backward_ = nullptr;
      steal_producers(node->inputs_, stack);
    }
  }
  --g_live_nodes;
}

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  if (!backward_)
    fail(
        "backward: op '{}' was already freed by an earlier backward(); call the first backward with "
        "retain_graph=true to backpropagate through the graph twice",
        name_);
  // Restored on the way out, also when the closure throws.
  struct Running {
    const std::string* previous;
    ~Running() { t_running_op = previous; }
  } running{t_running_op};
  t_running_op = &name_;
  return backward_(grad_output);
}

void SavedTensor::fail_modified() const {
  const std::string op = t_running_op ? *t_running_op : std::string("an op");
  const char* writer = data_.storage()->last_writer();
  fail(
      "backward of '{}': one of the variables needed for gradient computation has been modified by an "
      "inplace operation: [{} {}] is at version {}; expected version {} instead{}. Hint: "
      "run backward() before changing it in place, or save a copy (clone) in the forward "
      "(docs/reliability.md#in-place-changes)",
      op, dtype_name(data_.dtype()), shape_str(data_.shape()), data_.version(), version_,
      *writer ? fmt::format(" (last written in place by {})", writer) : std::string());
}

void Node::release() {
  backward_ = nullptr;
  inputs_.clear();
}

int64_t Node::live_count() { return g_live_nodes.load(); }

Tensor make_result(Tensor output, std::vector<Tensor> inputs, const char* name, BackwardFn backward,
                   DoubleBackward double_backward) {
  if (detect_anomaly()) detail::anomaly_check_forward(name, output, inputs);  // also under NoGradGuard
  if (!GradMode::is_enabled()) return output;
  bool any = false;
  for (const auto& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return output;
  // Undefined optional inputs (a missing bias) are kept as placeholders so indices match.
  auto node =
      std::make_shared<Node>(name, std::move(inputs), std::move(backward), output.shape(), double_backward);
  output.set_grad_fn(std::move(node));
  return output;
}

bool owns_gradient(const Tensor& g) { return sole_handle(g) && !detect_anomaly(); }

}  // namespace convgrad
