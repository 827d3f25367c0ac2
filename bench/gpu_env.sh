# Source this on a lent GPU machine (python3 with torch, no network): installs the wheels that
# ../shared/gpu/wheels.sh put in .whl (bitsandbytes, liger-kernel, deepspeed sdist, ...) into
# /tmp/site and puts them and this checkout's src/ on the path.
# WHEELS names another folder of wheels (e.g. only DeepSpeed's few for the parallel benchmarks).
W=${WHEELS:-.whl}
if [ ! -e /tmp/site/.climatune-$(basename "$W") ]; then  # once per machine
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$W"/*.whl
  if ls "$W"/deepspeed-*.tar.gz >/dev/null 2>&1 && [ -n "${WITH_DEEPSPEED:-}" ]; then
    DS_BUILD_OPS=0 python3 -m pip install -q --no-index --no-deps --no-build-isolation --target /tmp/site "$W"/deepspeed-*.tar.gz
  fi
  touch /tmp/site/.climatune-$(basename "$W")
fi
export PYTHONPATH=/tmp/site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}
# DeepSpeed's JIT cannot parse the image's "9.0a"; NVLink multicast stays off on shared hosts.
export TORCH_CUDA_ARCH_LIST=9.0 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
