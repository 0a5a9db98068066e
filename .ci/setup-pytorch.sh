# Sourced by .ci/run: Debian's PyTorch (python3-torch, CPU) so that PyTorchImportTest can have real PyTorch make a
# full-size ResNet-18 and compare its logits with Kiln's; without it that one test skips, saying so (the committed
# small fixtures are checked either way).
if ! python3 -c "import torch" >/dev/null 2>&1; then
  apt_install python3-torch || echo "python3-torch could not be installed; the full-size ResNet-18 check will skip" >&2
fi
if python3 -c "import torch" >/dev/null 2>&1; then
  export KILN_TEST_PYTHON=$(command -v python3)
  echo "PyTorch for tests: $KILN_TEST_PYTHON ($(python3 -c 'import torch; print(torch.__version__)'))"
fi
