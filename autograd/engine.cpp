// The reverse pass: iterative topological order (Kahn's algorithm), never recursion.
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"

namespace convgrad {

namespace {

// a + b for two float32 tensors of one shape; gradients are summed this way.
Tensor add_same_shape(const Tensor& a, const Tensor& b) {
  Tensor out = clone_data(a);
  Tensor bc = b.is_contiguous() ? b : clone_data(b);
  float* o = out.data<float>();
  const float* q = bc.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) o[i] += q[i];
  return out;
}

void accumulate_leaf(const Tensor& leaf, const Tensor& g) {
  Tensor existing = leaf.grad();
  // A leaf's gradient is always its own contiguous buffer: never an alias of another tensor.
  leaf.set_grad(existing.defined() ? add_same_shape(existing, g) : clone_data(g));
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  check(root.requires_grad(),
        "backward: tensor of shape {} does not require grad (no input of the ops that made it had "
        "requires_grad set)",
        shape_str(root.shape()));
  Tensor seed = gradient;
  if (!seed.defined()) {
    check(root.numel() == 1,
          "backward: an implicit gradient needs a scalar output, got shape {}; pass a gradient of that "
          "shape",
          shape_str(root.shape()));
    seed = ones(root.shape());
  }
  check(seed.shape() == root.shape(), "backward: gradient shape {} does not match output shape {}",
        shape_str(seed.shape()), shape_str(root.shape()));
  NoGradGuard no_grad;  // backward closures compute with plain ops

  if (root.is_leaf()) {
    accumulate_leaf(root, seed);
    return;
  }

  // 1. Count, for every node reachable from the root, how many edges lead into it.
  // `alive` holds every node until the pass ends: releasing a node may drop the last handle to another.
  std::unordered_map<Node*, int> pending_edges;
  std::vector<std::shared_ptr<Node>> alive{root.grad_fn()};
  std::vector<Node*> stack{root.grad_fn().get()};
  std::unordered_set<Node*> seen{stack.back()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
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

  // 2. Run nodes once all their consumers have contributed (Kahn's algorithm).
  std::unordered_map<Node*, Tensor> grads{{root.grad_fn().get(), seed}};
  std::vector<Node*> ready{root.grad_fn().get()};
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    const auto& inputs = node->inputs();
    // A node that received no gradient at all (its consumers returned none) is skipped, but its
    // producers still learn that this edge is done.
    auto found = grads.find(node);
    std::vector<Tensor> in_grads(inputs.size());
    if (found != grads.end()) {
      Tensor grad_out = std::move(found->second);
      grads.erase(found);
      {
        detail::BackwardScope scope;  // anomaly mode checks the closure's results below, not its inner ops
        in_grads = node->apply(grad_out);
      }
      check(in_grads.size() == inputs.size(), "backward of '{}': returned {} gradients for {} inputs",
            node->name(), in_grads.size(), inputs.size());
      if (detect_anomaly()) detail::anomaly_check_backward(*node, grad_out, in_grads);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& in = inputs[i];
      const Tensor& g = in_grads[i];
      if (!in.defined()) continue;
      Node* producer = in.grad_fn().get();
      if (g.defined() && in.requires_grad()) {
        check(g.shape() == in.shape(), "backward of '{}': gradient {} has shape {}, input has shape {}",
              node->name(), i, shape_str(g.shape()), shape_str(in.shape()));
        if (!producer) {
          accumulate_leaf(in, g);
        } else if (auto it = grads.find(producer); it == grads.end()) {
          grads.emplace(producer, g);
        } else {
          it->second = add_same_shape(it->second, g);
        }
      }
      if (producer && --pending_edges[producer] == 0) ready.push_back(producer);
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace

void backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  run_backward(root, gradient, retain_graph);
}

}  // namespace convgrad
