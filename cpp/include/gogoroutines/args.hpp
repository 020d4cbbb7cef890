// args.hpp: the named arguments of a task, in the layout of the C ABI.
//
//     gogoroutines::Args args;
//     args.str("data", "abc").str("algorithm", "sha256");
//     rt.go("hash", args);
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "gogo_abi.h"

namespace gogoroutines {

class Channel;

/// The named arguments of a task. Setters return *this so calls chain.
///
/// By default names and payloads are copied into the Args. With
/// Ownership::View they are not: the caller keeps that memory alive until the
/// spawn that uses these Args has returned (Go copies what it keeps).
class Args {
 public:
  /// Whether a setter copies its strings (Copy) or only points at them (View).
  enum class Ownership { Copy, View };

  Args() = default;
  /// A deep copy: the copy owns all its names and payloads (even viewed ones).
  /// @param other the arguments to copy
  Args(const Args& other);
  /// A deep copy (see the copy constructor).
  /// @param other the arguments to copy
  /// @return *this
  Args& operator=(const Args& other);
  Args(Args&&) noexcept = default;
  Args& operator=(Args&&) noexcept = default;
  ~Args() = default;

  /// @param name argument name
  /// @param text UTF-8 text
  /// @param own whether to copy name and text
  /// @return *this
  Args& str(std::string_view name, std::string_view text, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param data raw bytes (may contain NUL bytes)
  /// @param own whether to copy name and data
  /// @return *this
  Args& bytes(std::string_view name, std::string_view data, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param value an integer
  /// @param own whether to copy name
  /// @return *this
  Args& integer(std::string_view name, std::int64_t value, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param value a floating-point number
  /// @param own whether to copy name
  /// @return *this
  Args& number(std::string_view name, double value, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param value a boolean
  /// @param own whether to copy name
  /// @return *this
  Args& boolean(std::string_view name, bool value, Ownership own = Ownership::Copy);
  /// An explicit "no value": the kind's default applies.
  /// @param name argument name
  /// @param own whether to copy name
  /// @return *this
  Args& none(std::string_view name, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param items the list's items (their names are ignored); moved in
  /// @param own whether to copy name
  /// @return *this
  Args& list(std::string_view name, Args items, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param entries the map's entries, keyed by their names; moved in
  /// @param own whether to copy name
  /// @return *this
  Args& map(std::string_view name, Args entries, Ownership own = Ownership::Copy);
  /// @param name argument name
  /// @param ch a channel (e.g. for the `stream` argument of exec and http);
  ///        the Args hold its handle, not the Channel: keep ch alive until
  ///        the spawn has returned
  /// @param own whether to copy name
  /// @return *this
  Args& channel(std::string_view name, const Channel& ch, Ownership own = Ownership::Copy);
  /// Reserves room for n arguments.
  /// @param n how many arguments will be set
  void reserve(std::size_t n) { args_.reserve(n); }

  /// @return the arguments in the C ABI's layout
  const gogo_arg* data() const noexcept { return args_.data(); }
  /// @return how many arguments are set
  std::size_t size() const noexcept { return args_.size(); }

 private:
  gogo_arg& add(std::string_view name, std::int32_t type, Ownership own);
  std::string_view keep(std::string_view text, Ownership own);
  std::string_view keep(std::string&& text);

  std::vector<gogo_arg> args_;
  std::list<std::string> copies_;  // a list: its strings never move
  std::list<Args> nested_;         // items of list and map arguments
};

}  // namespace gogoroutines
