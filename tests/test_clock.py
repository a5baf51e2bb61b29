import importlib
import pkgutil

import quartapp


def test_the_clock_fixture_moves_the_time_of_every_module(clock):
    modules = [importlib.import_module(info.name) for info in pkgutil.walk_packages(quartapp.__path__, "quartapp.")
               if ".migrations" not in info.name and not info.name.endswith("__main__")]  # fmt: skip
    reading = [module for module in modules if hasattr(module, "utcnow")]
    assert len(reading) >= 10
    clock.advance(days=400)
    assert {module.__name__: module.utcnow() for module in reading} == dict.fromkeys(
        (module.__name__ for module in reading), clock.now
    )
