// The reverse pass: iterative topological order (Kahn's algorithm), never recursion.
#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"

namespace convgrad {

namespace {

// True when nothing but the handle `t` reaches its data (sole_handle, autograd/node.h) and it is a plain
// contiguous float32 buffer from element 0. Such a gradient may be taken over or added into in place
// without anyone seeing it change (Note [Owned gradient] in autograd/node.h).
bool exclusive(const Tensor& t) {
  return sole_handle(t) && t.dtype() == DType::Float32 && t.offset() == 0 && t.is_contiguous() &&
         !t.requires_grad();
}

// a + b for two float32 tensors of one shape; gradients are summed this way. In place into `a` when the
// engine alone holds it, else into a fresh buffer.
Tensor add_same_shape(Tensor a, const Tensor& b) {
  if (exclusive(a)) {
    kernels::add_inplace(a, b);
    return a;
  }
  return kernels::add(a, b);
}

// Graphs that share a leaf may run backward() on different threads at once: accumulation into a leaf's
// gradient holds a lock chosen by the leaf's address, so no contribution is lost and no gradient is seen
// half-added. A fixed table of locks rather than one per tensor keeps tensors small; only one is ever
// held at a time, so sharing one between two leaves cannot deadlock.
std::mutex& leaf_lock(const TensorImpl* leaf) {
  static std::array<std::mutex, 64> locks;
  const uint64_t h = (static_cast<uint64_t>(reinterpret_cast<uintptr_t>(leaf)) >> 4) * 0x9e3779b97f4a7c15ull;
  return locks[h >> 58];  // the top 6 bits: 64 locks
}

// A leaf's gradient is always its own contiguous buffer, never an alias of another tensor: the first
// gradient is taken as is when nothing else holds it (else copied), later ones are added. Under
// create_graph the gradient keeps its history and later ones are added by the differentiable add.
void accumulate_leaf(const Tensor& leaf, Tensor g, bool create_graph) {
  std::lock_guard<std::mutex> lock(leaf_lock(leaf.impl()));
  std::shared_ptr<TensorImpl>& slot = leaf.impl()->autograd.grad;
  if (create_graph) {
    leaf.set_grad(slot ? add(Tensor(slot), g) : g);
    return;
  }
  if (slot) {
    Tensor existing(slot);
    // Two handles now (the slot and `existing`): no user holds the old gradient, so it may grow in place.
    if (slot.use_count() == 2 && existing.storage().use_count() == 1 && existing.is_contiguous() &&
        existing.offset() == 0) {
      kernels::add_inplace(existing, g);
      return;
    }
    leaf.set_grad(kernels::add(existing, g));
    return;
  }
  leaf.set_grad(exclusive(g) ? g : clone_data(g));
}

// Sum of two gradients reaching one tensor: with history under create_graph, in place when possible
// otherwise.
Tensor sum_grads(Tensor a, const Tensor& b, bool create_graph) {
  return create_graph ? add(a, b) : add_same_shape(std::move(a), b);
}

// One reverse pass. Without targets (backward) every node runs and leaves accumulate into grad(); with
// targets (grad) only the nodes that lead to a target run, and the targets' gradients are returned.
struct Pass {
  std::vector<Tensor> roots, seeds;
  bool retain_graph = false, create_graph = false;
  const std::vector<Tensor>* targets = nullptr;
};

// The seed of `root`: `gradient`, or ones for a scalar root.
Tensor seed_for(const Tensor& root, const Tensor& gradient, const char* op) {
  CONVGRAD_CHECK(
      root.requires_grad(),
      "{}: tensor of shape {} does not require grad (no input of the ops that made it had requires_grad set)",
      op, shape_str(root.shape()));
  if (!gradient.defined()) {
    CONVGRAD_CHECK(
        root.numel() == 1,
        "{}: an implicit gradient needs a scalar output, got shape {}; pass a gradient of that shape", op,
        shape_str(root.shape()));
    return ones(root.shape());
  }
  CONVGRAD_CHECK(gradient.shape() == root.shape(), "{}: gradient shape {} does not match output shape {}", op,
                 shape_str(gradient.shape()), shape_str(root.shape()));
  return gradient;
}

// Runs `pass`; returns one gradient per target (undefined where none arrived).
std::vector<Tensor> run_pass(const Pass& pass) {
  const bool create_graph = pass.create_graph;
  // Closures compute with plain ops (no graph) unless create_graph asks them to record one.
  AutoGradMode grad_mode(create_graph);
  const bool collect = pass.targets != nullptr;
  std::vector<Tensor> result(collect ? pass.targets->size() : 0);
  std::unordered_map<const TensorImpl*, size_t> leaf_target;  // leaf impl -> index in targets
  std::unordered_map<Node*, size_t> node_target;              // producer node -> index in targets
  if (collect)
    for (size_t i = 0; i < pass.targets->size(); ++i) {
      const Tensor& t = (*pass.targets)[i];
      if (t.is_leaf())
        leaf_target.emplace(t.impl(), i);
      else
        node_target.emplace(t.grad_fn().get(), i);
    }
  // A gradient arriving at leaf `in`: kept for grad(), accumulated into grad() for backward().
  auto deliver_to_leaf = [&](const Tensor& in, Tensor g) {
    if (!collect) return accumulate_leaf(in, std::move(g), create_graph);
    auto it = leaf_target.find(in.impl());
    if (it == leaf_target.end()) return;
    Tensor& slot = result[it->second];
    slot = slot.defined() ? sum_grads(std::move(slot), g, create_graph) : std::move(g);
  };

  // 1. Count, for every node reachable from the roots, how many edges lead into it.
  // `alive` holds every node until the pass ends: releasing a node may drop the last handle to another.
  std::unordered_map<Node*, int> pending_edges;
  std::unordered_map<Node*, Tensor> grads;
  std::vector<std::shared_ptr<Node>> alive;
  std::vector<Node*> stack;
  std::unordered_set<Node*> seen;
  for (size_t r = 0; r < pass.roots.size(); ++r) {
    const Tensor& root = pass.roots[r];
    if (root.is_leaf()) {
      deliver_to_leaf(root, pass.seeds[r]);
      continue;
    }
    Node* node = root.grad_fn().get();
    auto it = grads.find(node);
    if (it == grads.end())
      grads.emplace(node, pass.seeds[r]);
    else
      it->second = sum_grads(std::move(it->second), pass.seeds[r], create_graph);
    if (seen.insert(node).second) {
      stack.push_back(node);
      alive.push_back(root.grad_fn());
    }
  }
  std::vector<Node*> order;  // discovery order, for the "leads to a target" sweep below
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    order.push_back(node);
    if (node->released()) node->apply(Tensor());  // throws the "already freed" error
    for (const auto& in : node->inputs()) {
      if (!in.defined() || !in.grad_fn()) continue;
      Node* producer = in.grad_fn().get();
      ++pending_edges[producer];
      if (seen.insert(producer).second) {
        stack.push_back(producer);
        alive.push_back(in.grad_fn());
      }
    }
  }

  // 2. For grad(): which nodes lead to a target. A node's producers are settled first when nodes are visited
  // in reverse topological order, which a dry run of Kahn's algorithm gives.
  std::unordered_set<Node*> useful;
  if (collect) {
    std::unordered_map<Node*, int> remaining = pending_edges;
    std::vector<Node*> topo, ready;
    for (Node* n : order)
      if (remaining[n] == 0) ready.push_back(n);
    while (!ready.empty()) {
      Node* n = ready.back();
      ready.pop_back();
      topo.push_back(n);
      for (const auto& in : n->inputs())
        if (in.defined() && in.grad_fn() && --remaining[in.grad_fn().get()] == 0)
          ready.push_back(in.grad_fn().get());
    }
    // A node runs when one of its inputs is a target or is made by a node that reaches one; a target node
    // itself only collects its gradient (nothing below it is wanted unless another target is there).
    std::unordered_set<Node*> reaches;
    for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
      Node* n = *it;
      bool run = false;
      for (const auto& in : n->inputs()) {
        if (run || !in.defined() || !in.requires_grad()) continue;
        run = in.grad_fn() ? reaches.count(in.grad_fn().get()) > 0 : leaf_target.count(in.impl()) > 0;
      }
      if (run) useful.insert(n);
      if (run || node_target.count(n)) reaches.insert(n);
    }
  }

  // 3. Run nodes once all their consumers have contributed (Kahn's algorithm).
  std::vector<Node*> ready;
  for (Node* n : order)
    if (pending_edges[n] == 0) ready.push_back(n);
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    const auto& inputs = node->inputs();
    // A node that received no gradient at all (its consumers returned none), or that leads to no target of
    // grad(), is skipped, but its producers still learn that this edge is done.
    auto found = grads.find(node);
    std::vector<Tensor> in_grads(inputs.size());
    if (found != grads.end()) {
      Tensor grad_out = std::move(found->second);
      grads.erase(found);
      if (auto t = node_target.find(node); t != node_target.end()) result[t->second] = grad_out;
      if (!collect || useful.count(node)) {
        if (create_graph && !node->supports_double_backward())
          fail(
              "backward with create_graph: op '{}' has no double backward yet (its gradient would carry no "
              "history, so a second derivative through it would be silently wrong); see docs/autograd.md for "
              "the ops that support create_graph",
              node->name());
        {
          detail::BackwardScope scope;  // anomaly mode checks the closure's results below, not its inner ops
          in_grads = node->apply(grad_out);
        }
        CONVGRAD_CHECK(in_grads.size() == inputs.size(),
                       "backward of '{}': returned {} gradients for {} inputs", node->name(), in_grads.size(),
                       inputs.size());
        if (detect_anomaly()) detail::anomaly_check_backward(*node, grad_out, in_grads);
      }
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& in = inputs[i];
      Tensor& g = in_grads[i];  // moved on below, so a gradient nobody else holds stays exclusive
      if (!in.defined()) continue;
      Node* producer = in.grad_fn().get();
      if (g.defined() && in.requires_grad()) {
        CONVGRAD_CHECK(g.shape() == in.shape(),
                       "backward of '{}': gradient {} has shape {}, input has shape {}", node->name(), i,
                       shape_str(g.shape()), shape_str(in.shape()));
        if (!producer) {
          deliver_to_leaf(in, std::move(g));
        } else if (auto it = grads.find(producer); it == grads.end()) {
          grads.emplace(producer, std::move(g));
        } else {
          it->second = sum_grads(std::move(it->second), g, create_graph);
        }
      }
      if (producer && --pending_edges[producer] == 0) ready.push_back(producer);
    }
    // Only nodes that ran are freed: grad() leaves the rest of the graph (below its inputs) usable.
    if (!pass.retain_graph && (!collect || useful.count(node))) node->release();
  }
  return result;
}

}  // namespace

void backward(const Tensor& root, const Tensor& gradient, bool retain_graph, bool create_graph) {
  Pass pass;
  pass.seeds = {seed_for(root, gradient, "backward")};
  pass.roots = {root};
  pass.retain_graph = retain_graph;
  pass.create_graph = create_graph;
  run_pass(pass);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph,
                         bool create_graph, bool allow_unused) {
  CONVGRAD_CHECK(!outputs.empty(), "grad: no outputs given; pass the tensors to differentiate");
  CONVGRAD_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(),
                 "grad: {} grad_outputs for {} outputs; pass one per output (or none, for scalar outputs)",
                 grad_outputs.size(), outputs.size());
  Pass pass;
  for (size_t i = 0; i < outputs.size(); ++i) {
    CONVGRAD_CHECK(outputs[i].defined(), "grad: output {} is undefined", i);
    pass.roots.push_back(outputs[i]);
    pass.seeds.push_back(seed_for(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "grad"));
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    CONVGRAD_CHECK(
        inputs[i].defined() && inputs[i].requires_grad(),
        "grad: input {} {} does not require grad; only tensors with requires_grad (leaves marked with "
        "set_requires_grad, or results of ops on them) have gradients",
        i, inputs[i].defined() ? "of shape " + shape_str(inputs[i].shape()) : std::string("(undefined)"));
  pass.retain_graph = retain_graph.value_or(create_graph);
  pass.create_graph = create_graph;
  pass.targets = &inputs;
  std::vector<Tensor> result = run_pass(pass);
  for (size_t i = 0; i < result.size(); ++i)
    CONVGRAD_CHECK(
        result[i].defined() || allow_unused,
        "grad: input {} (shape {}) was not used to compute the outputs; pass allow_unused=true to get an "
        "undefined tensor for it",
        i, shape_str(inputs[i].shape()));
  return result;
}

}  // namespace convgrad
