import subprocess
import sys


def test_lamina_imports_no_other_framework_nor_optional_package():
    # One fresh interpreter for every import-isolation check (each costs a torch import): no other
    # framework, and none of the optional packages the preprocessing modules load only when used.
    code = (
        "import sys, lamina, lamina.layers, lamina.models, lamina.backend, lamina.losses\n"
        "import lamina.preprocessing.image, lamina.preprocessing.text\n"
        "bad = [m for m in ('keras', 'tensorflow', 'tf_keras', 'jax', 'PIL', 'scipy') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_keras2_import_paths():
    import lamina
    from lamina.engine.input_layer import Input as Input2
    from lamina.engine.topology import Input as Input1
    from lamina.layers.core import Dense
    from lamina.models import Sequential

    assert Input1 is lamina.Input and Input2 is lamina.Input
    assert Dense is lamina.layers.Dense
    assert Sequential is lamina.Sequential
