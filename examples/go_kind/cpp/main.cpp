// main.cpp: the count_words kind of examples/go_kind, called from C++.
//
//     wordcount_example FILE...
//
// counts a text given as data, shows the task's meta, shows the error of a bad
// argument, then counts each FILE on a goroutine of its own (all at once) and
// prints "lines words bytes FILE" per file and a total, as `wc` does.
// In Python the tasks read:
//     rt.go("count_words", data="one two three\nfour\n")
//     rt.go("count_words", path=file)
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "gogoroutines/runtime.hpp"

namespace gg = gogoroutines;

namespace {

struct Counts {
  std::int64_t lines = 0, words = 0, bytes = 0;
};

// The result of count_words is "lines words bytes".
Counts parse(const std::string& result) {
  Counts c;
  std::istringstream(result) >> c.lines >> c.words >> c.bytes;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("gogoroutines %s\n", GOGOROUTINES_VERSION);
  gg::Runtime rt;
  int unexpected = 0;

  // A text given as data; the result is text, the meta a JSON object.
  gg::Task text = rt.go("count_words", gg::Args().str("data", "one two three\nfour\n"));
  std::printf("data: %s\n", text.result(10.0).c_str());
  std::printf("meta: %s\n", text.meta_json().value_or("(none)").c_str());

  // Bad arguments are refused at spawn, naming the argument.
  try {
    rt.go("count_words", gg::Args().str("data", "x").str("path", "/etc/hostname"));
    ++unexpected;
  } catch (const gg::InvalidArgument& e) {
    std::printf("InvalidArgument: %s\n", e.what());
  }

  // Every file at once, each on a goroutine; the results are read in order.
  std::vector<gg::Task> files;
  for (int i = 1; i < argc; ++i) {
    files.push_back(rt.go("count_words", gg::Args().str("path", argv[i])));
  }
  Counts total;
  for (int i = 1; i < argc; ++i) {
    try {
      Counts c = parse(files[i - 1].result(60.0));
      std::printf("%lld %lld %lld %s\n", static_cast<long long>(c.lines),
                  static_cast<long long>(c.words), static_cast<long long>(c.bytes), argv[i]);
      total.lines += c.lines;
      total.words += c.words;
      total.bytes += c.bytes;
    } catch (const gg::TaskFailed& e) {  // a missing file, say
      std::printf("TaskFailed: %s\n", e.go_error().c_str());
    }
  }
  std::printf("%lld %lld %lld total\n", static_cast<long long>(total.lines),
              static_cast<long long>(total.words), static_cast<long long>(total.bytes));

  rt.close();
  std::printf(unexpected == 0 ? "ok\n" : "UNEXPECTED: %d errors were not raised\n", unexpected);
  return unexpected == 0 ? 0 : 1;
}
