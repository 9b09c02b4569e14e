// CONVGRAD_ARG: the one way options classes declare an argument, like libtorch's TORCH_ARG.
//
//     class LinearOptions {
//      public:
//       LinearOptions(int64_t in, int64_t out) : in_features_(in), out_features_(out) {}
//       /// Whether a learned bias is added (default true).
//       CONVGRAD_ARG(bool, bias) = true;
//       ...
//     };
//
// CONVGRAD_ARG(T, name) declares a private member `name_` of type T (a default value may follow the
// macro, as above) and public accessors:
//   - `name(const T&)` and `name(T&&)`: set the value and return *this, so setters chain, on named
//     options (`o.bias(false)`) and on temporaries (`LinearOptions(2, 3).bias(false)`);
//   - `name() const`: the value; `name()` on a non-const object: a reference to it.
// Setters do not validate: the module or op that consumes the options checks them and names itself
// in the error. An argument whose setter does more than store (an overload taking an int for a Pair,
// a setter that clears another argument) is written by hand next to the macro.
#pragma once

#include <utility>

#define CONVGRAD_ARG(T, name)                                     \
 public:                                                          \
  inline auto name(const T& new_##name)->decltype(*this) {        \
    this->name##_ = new_##name;                                   \
    return *this;                                                 \
  }                                                               \
  inline auto name(T&& new_##name)->decltype(*this) {             \
    this->name##_ = std::move(new_##name);                        \
    return *this;                                                 \
  }                                                               \
  inline const T& name() const noexcept { return this->name##_; } \
  inline T& name() noexcept { return this->name##_; }             \
                                                                  \
 private:                                                         \
  T name##_
