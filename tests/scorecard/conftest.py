import pytest

from .known import Known


@pytest.fixture
def known(app, make):
    return Known(app, make)
