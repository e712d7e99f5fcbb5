-- A small bookshop, written for DataFlow's Text-to-SQL examples: authors, books, customers and orders.
CREATE TABLE author (
  author_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  country TEXT,
  born INTEGER
);
CREATE TABLE book (
  book_id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  author_id INTEGER REFERENCES author (author_id),
  genre TEXT,
  year INTEGER,
  price REAL
);
CREATE TABLE customer (
  customer_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT,
  joined TEXT
);
CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER REFERENCES customer (customer_id),
  book_id INTEGER REFERENCES book (book_id),
  quantity INTEGER,
  order_date TEXT
);
INSERT INTO author VALUES
  (1, 'Ines Moreau', 'France', 1961), (2, 'Tomas Berg', 'Sweden', 1975), (3, 'Akira Sato', 'Japan', 1982),
  (4, 'Grace Okafor', 'Nigeria', 1990), (5, 'Paul Lindqvist', 'Sweden', 1958);
INSERT INTO book VALUES
  (1, 'The Salt Road', 1, 'history', 2004, 18.5), (2, 'Winter Harbour', 2, 'novel', 2011, 12.0),
  (3, 'Quiet Engines', 3, 'science', 2019, 24.9), (4, 'Lagos by Night', 4, 'novel', 2021, 15.0),
  (5, 'Maps of Ice', 5, 'history', 1999, 21.0), (6, 'Small Numbers', 3, 'science', 2023, 27.5),
  (7, 'The Long Table', 1, 'novel', 2015, 13.5), (8, 'Northern Light', 2, 'poetry', 2008, 9.9);
INSERT INTO customer VALUES
  (1, 'Lena Fischer', 'Berlin', '2020-03-14'), (2, 'Omar Haddad', 'Lyon', '2021-07-02'),
  (3, 'Mei Chen', 'Osaka', '2019-11-23'), (4, 'John Price', 'Leeds', '2022-01-09'),
  (5, 'Ana Costa', 'Porto', '2023-05-30');
INSERT INTO orders VALUES
  (1, 1, 3, 1, '2023-01-05'), (2, 1, 6, 2, '2023-06-18'), (3, 2, 1, 1, '2022-09-11'),
  (4, 2, 7, 1, '2023-02-27'), (5, 3, 3, 3, '2023-03-03'), (6, 3, 2, 1, '2021-12-24'),
  (7, 4, 4, 2, '2023-08-08'), (8, 4, 5, 1, '2022-04-19'), (9, 5, 8, 4, '2023-10-01'),
  (10, 5, 4, 1, '2023-10-02'), (11, 1, 2, 1, '2022-02-14'), (12, 3, 6, 1, '2023-11-11');
