"""A real browser for web desk tests: Debian's chromium driven by Selenium (chromium-driver).

Selenium is synchronous; the desk and the bot run on the test's event loop, so every browser
call goes through `asyncio.to_thread`. Missing chromium skips the test locally and fails it
under CI=true (.ci/run installs chromium and chromium-driver).

Starting and stopping Chromium costs about two seconds and one CPU second, so the browser
tests share one (`Browser`), and each begins on a blank page with every cookie and all
cached and stored data cleared and the window at its first size (`Browser.fresh`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1280,1400")  # WINDOW


def find_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver (skip, or fail under CI, when missing)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        message = ("chromium and chromium-driver are needed "
                   "(apt-get install chromium chromium-driver)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return browser, driver


WINDOW = (1280, 1400)


class Browser:
    """One headless Chromium with its own throwaway profile."""

    def __init__(self, base_url: str, shots: Path) -> None:
        self._start()
        self.base_url = base_url
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)

    def _start(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        browser, driver = find_chromium()
        self.profile = tempfile.mkdtemp(prefix="aftercare-chromium-")
        options = webdriver.ChromeOptions()
        for flag in (*FLAGS, f"--user-data-dir={self.profile}"):
            options.add_argument(flag)
        options.binary_location = browser
        self.driver = webdriver.Chrome(options=options, service=Service(driver))
        self.driver.set_page_load_timeout(30)

    def fresh(self, base_url: str, shots: Path) -> None:
        """Start a test over: a blank page, no cookies (of any site), no cached or stored data,
        the first window size; pages are then looked for at `base_url`. A browser an earlier
        test left unusable (crashed, a dialog open) is replaced by a new one."""
        try:
            self._clear(base_url)
        except Exception:  # noqa: BLE001 - Chromium or its driver is gone or stuck: start anew
            self.close()
            self._start()
            self._clear(base_url)
        self.base_url = base_url
        self.shots = shots
        shots.mkdir(parents=True, exist_ok=True)

    def _clear(self, base_url: str) -> None:
        self.driver.get("about:blank")
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        self.driver.execute_cdp_cmd("Storage.clearDataForOrigin",
                                    {"origin": base_url, "storageTypes": "all"})
        self.driver.set_window_size(*WINDOW)

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """Run one blocking Selenium call off the event loop."""
        return await asyncio.to_thread(call, *args)

    async def get(self, path: str) -> None:
        await self.run(self.driver.get, self.base_url + path)

    async def text(self, css: str = "body") -> str:
        from selenium.webdriver.common.by import By

        return str(await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).text))

    async def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By

        await self.run(lambda: self.driver.find_element(By.CSS_SELECTOR, css).click())

    async def type(self, css: str, words: str) -> None:
        from selenium.webdriver.common.by import By

        def typing() -> None:
            field = self.driver.find_element(By.CSS_SELECTOR, css)
            field.clear()
            field.send_keys(words)

        await self.run(typing)

    async def select(self, css: str, value: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        await self.run(lambda: Select(self.driver.find_element(By.CSS_SELECTOR, css))
                       .select_by_value(value))

    async def count(self, css: str) -> int:
        from selenium.webdriver.common.by import By

        return len(await self.run(lambda: self.driver.find_elements(By.CSS_SELECTOR, css)))

    async def attributes(self, css: str, name: str) -> list[str]:
        from selenium.webdriver.common.by import By

        def read() -> list[str]:
            return [str(e.get_attribute(name)) for e in
                    self.driver.find_elements(By.CSS_SELECTOR, css)]

        return await self.run(read)

    async def wait_text(self, css: str, words: str, timeout: float = 20.0) -> None:
        """Wait (a bound on a hang) until the element at `css` shows `words`."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        def wait() -> None:
            WebDriverWait(self.driver, timeout).until(
                expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css),
                                                                  words))

        await self.run(wait)

    async def screenshot(self, name: str) -> Path:
        """Save a PNG of the page under the test's tmp dir (a test artefact)."""
        path = self.shots / f"{name}.png"
        await self.run(self.driver.save_screenshot, str(path))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):  # one that crashed is gone already
            self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)
