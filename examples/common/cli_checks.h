// Command-line checks shared by the examples (header-only: include after <CLI/CLI.hpp>).
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <string>

namespace convgrad::example {

/// Accepts numbers >= lo. CLI11's PositiveNumber prints the whole double range when it rejects a
/// value; this says plainly what was expected and what was given.
inline CLI::Validator at_least(double lo) {
  return CLI::Validator(
      [lo](std::string& value) -> std::string {
        try {
          if (std::stod(value) >= lo) return "";
        } catch (const std::exception&) {
        }
        return fmt::format("must be a number >= {}, got '{}'", lo, value);
      },
      fmt::format(">= {}", lo));
}

/// Accepts numbers > 0.
inline CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          if (std::stod(value) > 0) return "";
        } catch (const std::exception&) {
        }
        return fmt::format("must be a number > 0, got '{}'", value);
      },
      "> 0");
}

}  // namespace convgrad::example
