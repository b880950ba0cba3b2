# make test       — set everything up (venv, Python packages, RISC-V toolchain, qemu-user) and
#                   run the whole test suite, including the engine built with ASan/UBSan.
# make reproduce  — same setup, then the main job (`wb reproduce`).
# make engine     — rebuild the engine into the venv after editing native/.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
PIP     := $(VPY) -m pip
APT_PKGS := qemu-user gcc-riscv64-linux-gnu libc6-dev-riscv64-cross cmake
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test reproduce engine setup system-deps asan clean

test: setup asan
	$(VPY) -m pytest -q -m "not slow" --timeout=900

reproduce: setup
	$(VENV)/bin/wb reproduce --scale small --out results

setup: system-deps $(VENV)/.installed engine

system-deps:
	@missing=""; \
	command -v qemu-riscv64 >/dev/null || missing="$$missing qemu-user"; \
	command -v riscv64-linux-gnu-gcc >/dev/null || missing="$$missing gcc-riscv64-linux-gnu libc6-dev-riscv64-cross"; \
	command -v cmake >/dev/null || missing="$$missing cmake"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -f /usr/src/linux-source-6.1.tar.xz || missing="$$missing linux-source-6.1"; \
	command -v qemu-system-riscv64 >/dev/null || missing="$$missing qemu-system-misc"; \
	command -v dtc >/dev/null || missing="$$missing device-tree-compiler"; \
	test -f /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin || missing="$$missing opensbi"; \
	for p in bc bison flex cpio rsync; do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	command -v xz >/dev/null || missing="$$missing xz-utils"; \
	test -f /usr/include/libelf.h || missing="$$missing libelf-dev"; \
	test -f /usr/include/openssl/ssl.h || missing="$$missing libssl-dev"; \
	$(PY) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "scikit-build-core>=0.10" "cmake>=3.18" ninja
	$(PIP) install -q --no-build-isolation -e ".[test]"
	touch $@

engine: $(VENV)/.installed
	$(PIP) install -q --no-build-isolation --no-deps -e .

# The engine and its runner built with AddressSanitizer + UBSan; tests use it through WB_WBRUN_ASAN.
asan: system-deps
	cmake -S native -B build/asan -DWB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build/asan -j2 >/dev/null

clean:
	rm -rf build $(VENV)
