# Sourced by .ci/run: Debian's Chromium and ChromeDriver for the dashboard's browser test (it skips, saying so,
# without them).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt_install chromium chromium-driver
fi
export KILN_TEST_CHROMIUM=$(command -v chromium)
export KILN_TEST_CHROMEDRIVER=$(command -v chromedriver)
echo "Chromium for tests: $KILN_TEST_CHROMIUM ($("$KILN_TEST_CHROMIUM" --version 2>/dev/null))"
