"""Allow ``python -m cart_registry``."""

from cart_registry.cli.main import cli

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    cli(prog_name="cart-registry")
