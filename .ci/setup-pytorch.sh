# Sourced by .ci/run: Debian's PyTorch (python3-torch, CPU) so that PyTorchImportTest can have real PyTorch make a
# full-size ResNet-18 and compare its logits with Kiln's; without it that one test skips, saying so (the committed
# small fixtures are checked either way). Debian's package goes with Debian's interpreter, /usr/bin/python3, which
# need not be the python3 first on the PATH (a pyenv shim, for one).
torch_python=/usr/bin/python3
if ! "$torch_python" -c "import torch" >/dev/null 2>&1; then
  apt_install python3-torch libopenblas0-pthread \
    || echo "python3-torch could not be installed; the full-size ResNet-18 check will skip" >&2
fi
if "$torch_python" -c "import torch" >/dev/null 2>&1; then
  export KILN_TEST_PYTHON=$torch_python
  echo "PyTorch for tests: $KILN_TEST_PYTHON ($("$torch_python" -c 'import torch; print(torch.__version__)'))"
fi
