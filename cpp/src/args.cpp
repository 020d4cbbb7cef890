// args.cpp: Args, the named arguments of a task in the layout of the C ABI.
#include "gogoroutines/args.hpp"

#include <string>
#include <utility>

#include "gogoroutines/channel.hpp"

namespace gogoroutines {

Args::Args(const Args& other) {
  args_.reserve(other.args_.size());
  for (const gogo_arg& arg : other.args_) {
    const std::string_view name(arg.name, arg.name_len);
    const std::string_view data(arg.data, arg.len);
    switch (arg.type) {
      case GOGO_ARG_STR:
        str(name, data);
        break;
      case GOGO_ARG_BYTES:
        bytes(name, data);
        break;
      case GOGO_ARG_INT:
        integer(name, arg.int_value);
        break;
      case GOGO_ARG_FLOAT:
        number(name, arg.float_value);
        break;
      case GOGO_ARG_BOOL:
        boolean(name, arg.int_value != 0);
        break;
      case GOGO_ARG_CHANNEL:
        add(name, GOGO_ARG_CHANNEL, Ownership::Copy).int_value = arg.int_value;
        break;
      case GOGO_ARG_LIST:
      case GOGO_ARG_MAP:
        for (const Args& items : other.nested_) {
          if (items.data() == arg.items) {
            if (arg.type == GOGO_ARG_LIST) {
              list(name, items);
            } else {
              map(name, items);
            }
            break;
          }
        }
        break;
      default:
        none(name);
    }
  }
}

Args& Args::operator=(const Args& other) {
  if (this != &other) *this = Args(other);
  return *this;
}

std::string_view Args::keep(std::string_view text, Ownership own) {
  if (own == Ownership::View) return text;
  return keep(std::string(text));
}

std::string_view Args::keep(std::string&& text) {
  copies_.push_back(std::move(text));
  return copies_.back();
}

gogo_arg& Args::add(std::string_view name, std::int32_t type, Ownership own) {
  const std::string_view kept = keep(name, own);
  gogo_arg& arg = args_.emplace_back();
  arg.name = kept.data();
  arg.name_len = kept.size();
  arg.type = type;
  arg.int_value = 0;
  arg.float_value = 0;
  arg.data = nullptr;
  arg.len = 0;
  arg.items = nullptr;
  return arg;
}

Args& Args::str(std::string_view name, std::string_view text, Ownership own) {
  const std::string_view kept = keep(text, own);
  gogo_arg& arg = add(name, GOGO_ARG_STR, own);
  arg.data = kept.data();
  arg.len = kept.size();
  return *this;
}

Args& Args::bytes(std::string_view name, std::string_view data, Ownership own) {
  const std::string_view kept = keep(data, own);
  gogo_arg& arg = add(name, GOGO_ARG_BYTES, own);
  arg.data = kept.data();
  arg.len = kept.size();
  return *this;
}

Args& Args::integer(std::string_view name, std::int64_t value, Ownership own) {
  add(name, GOGO_ARG_INT, own).int_value = value;
  return *this;
}

Args& Args::number(std::string_view name, double value, Ownership own) {
  add(name, GOGO_ARG_FLOAT, own).float_value = value;
  return *this;
}

Args& Args::boolean(std::string_view name, bool value, Ownership own) {
  add(name, GOGO_ARG_BOOL, own).int_value = value ? 1 : 0;
  return *this;
}

Args& Args::none(std::string_view name, Ownership own) {
  add(name, GOGO_ARG_NONE, own);
  return *this;
}

Args& Args::list(std::string_view name, Args items, Ownership own) {
  nested_.push_back(std::move(items));  // a list node never moves: items stay valid
  gogo_arg& arg = add(name, GOGO_ARG_LIST, own);
  arg.items = nested_.back().data();
  arg.len = nested_.back().size();
  return *this;
}

Args& Args::map(std::string_view name, Args entries, Ownership own) {
  list(name, std::move(entries), own);
  args_.back().type = GOGO_ARG_MAP;
  return *this;
}

Args& Args::channel(std::string_view name, const Channel& ch, Ownership own) {
  add(name, GOGO_ARG_CHANNEL, own).int_value = static_cast<std::int64_t>(ch.handle());
  return *this;
}

}  // namespace gogoroutines
