"""Small data sets that ship with kmeanskit (see ``kmeanskit/data/README.md``
for sources, citations and licences). Nothing is downloaded."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_wholesale_customers", "wholesale_customers_path", "WHOLESALE_SPENDING", "load_penguins",
           "penguins_path"]

#: The six annual-spending columns of the wholesale customers table.
WHOLESALE_SPENDING = ("Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen")


def wholesale_customers_path():
    """Traversable of the bundled ``wholesale_customers.csv`` (use
    ``importlib.resources.as_file`` for a real path).

    Returns
    -------
    importlib.resources.abc.Traversable
        The bundled file; a real file on disk when the package is installed
        as files, an entry inside the archive when it is zipped.

    Examples
    --------
    >>> from importlib import resources
    >>> from kmeanskit.datasets import wholesale_customers_path
    >>> t = wholesale_customers_path()
    >>> t.name
    'wholesale_customers.csv'
    >>> t.read_text().splitlines()[0]
    'Channel,Region,Fresh,Milk,Grocery,Frozen,Detergents_Paper,Delicassen'
    >>> with resources.as_file(t) as path:
    ...     path.exists()
    True
    """
    return resources.files("kmeanskit") / "data" / "wholesale_customers.csv"


def load_wholesale_customers(as_frame: bool = False):
    """The UCI "Wholesale customers" table (Cardoso 2014, CC BY 4.0).

    440 clients of a wholesale distributor in Portugal: ``Channel``
    (1 = Horeca: hotel/restaurant/café, 2 = Retail), ``Region`` (1 = Lisbon,
    2 = Oporto, 3 = Other) and the annual spending, in monetary units, on
    ``Fresh``, ``Milk``, ``Grocery``, ``Frozen``, ``Detergents_Paper`` and
    ``Delicassen`` products.

    Parameters
    ----------
    as_frame : bool
        Return a pandas DataFrame (needs ``kmeanskit[tables]``) instead of
        ``(X, columns)``.

    Returns
    -------
    (X, columns) or DataFrame
        ``X`` is an int64 array of shape (440, 8), columns in file order.

    Examples
    --------
    >>> from kmeanskit.datasets import load_wholesale_customers
    >>> X, columns = load_wholesale_customers()
    >>> X.shape, columns[:3]
    ((440, 8), ['Channel', 'Region', 'Fresh'])
    >>> round(float(X[:, 2].mean()), 4)
    12000.2977
    """
    path = wholesale_customers_path()
    if as_frame:
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("as_frame=True needs pandas; install it with "
                              "`pip install kmeanskit[tables]`.") from None
        with path.open() as fh:
            return pd.read_csv(fh)
    with path.open() as fh:
        columns = fh.readline().strip().split(",")
        X = np.array([[int(v) for v in line.split(",")] for line in fh if line.strip()], dtype=np.int64)
    return X, columns


def penguins_path():
    """Traversable of the bundled ``penguins.csv`` (the Palmer penguins, CC0).

    Returns
    -------
    importlib.resources.abc.Traversable
        The bundled file.

    Examples
    --------
    >>> from kmeanskit.datasets import penguins_path
    >>> penguins_path().read_text().splitlines()[0]
    'species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year'
    """
    return resources.files("kmeanskit") / "data" / "penguins.csv"


def load_penguins():
    """The Palmer penguins table (Horst, Hill & Gorman 2020; CC0) as a
    pandas DataFrame (needs ``kmeanskit[tables]``).

    344 penguins: ``species``, ``island``, four body measurements
    (``bill_length_mm``, ``bill_depth_mm``, ``flipper_length_mm``,
    ``body_mass_g``), ``sex`` and ``year``; missing values (2 rows without
    measurements, 11 without ``sex``) are NaN.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from kmeanskit.datasets import load_penguins
    >>> df = load_penguins()
    >>> df.shape, int(df["sex"].isna().sum()), int(df["body_mass_g"].isna().sum())
    ((344, 8), 11, 2)
    """
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("load_penguins needs pandas; install it with "
                          "`pip install kmeanskit[tables]`.") from None
    with penguins_path().open() as fh:
        return pd.read_csv(fh)
