#!/usr/bin/env bash
# `cmake --install` gives a usable library: a program found through pkg-config
# and one found through find_package(ctxmem) both build and run.
set -eu
build="$1" src="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc "$src/examples/hello.c" $(pkg-config --cflags --libs ctxmem) -Wl,-rpath,"$tmp/prefix/lib" \
    -o "$tmp/hello"
"$tmp/hello" "$tmp/store1" | grep -q "14 March 2025"
echo "ok   pkg-config consumer"
mkdir "$tmp/consumer"
cat >"$tmp/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(ctxmem REQUIRED)
add_executable(hello "$src/examples/hello.c")
target_link_libraries(hello ctxmem::ctxmem)
CMAKE
cmake -S "$tmp/consumer" -B "$tmp/consumer/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer/b" >/dev/null
"$tmp/consumer/b/hello" "$tmp/store2" | grep -q "14 March 2025"
echo "ok   find_package consumer"
echo "2 passed, 0 failed"
