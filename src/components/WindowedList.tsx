import * as React from 'react';

/** The rows to render: ``[start, end)`` indices. */
export interface IRange {
  start: number;
  end: number;
}

/**
 * Which rows of a fixed-row-height list are visible, plus ``overscan`` rows either side.
 * Pure, so it is tested without a DOM.
 */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 5
): IRange {
  if (count <= 0 || rowHeight <= 0) {
    return { start: 0, end: 0 };
  }
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count - 1, first) - overscan);
  const end = Math.min(count, first + shown + overscan);
  return { start, end };
}

/** Props of {@link WindowedList}. */
export interface IWindowedListProps<T> {
  items: ReadonlyArray<T>;
  /** Height of every row, in pixels. */
  rowHeight: number;
  /** Render one row; it is placed absolutely, ``style`` must be applied to its root. */
  renderRow: (
    item: T,
    index: number,
    style: React.CSSProperties
  ) => JSX.Element;
  /** Called when the last rows come into view (to load the next page). */
  onEndReached?: () => void;
  /** Extra rows rendered above and below the viewport. */
  overscan?: number;
  className?: string;
  /** Viewport height used before the first measurement (and in tests). */
  initialHeight?: number;
}

/** A virtualised list: only the visible rows (plus a few) are in the DOM. */
export function WindowedList<T>(props: IWindowedListProps<T>): JSX.Element {
  const { items, rowHeight, renderRow, onEndReached } = props;
  const overscan = props.overscan ?? 5;
  const ref = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(props.initialHeight ?? 300);

  React.useEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const measure = () => {
      if (node.clientHeight > 0) {
        setHeight(node.clientHeight);
      }
    };
    measure();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  const range = visibleRange(
    scrollTop,
    height,
    rowHeight,
    items.length,
    overscan
  );

  // Ask for more once the rendered window reaches the end of the list.
  React.useEffect(() => {
    if (onEndReached && items.length > 0 && range.end >= items.length) {
      onEndReached();
    }
  }, [range.end, items.length, onEndReached]);

  const rows: JSX.Element[] = [];
  for (let i = range.start; i < range.end; i++) {
    rows.push(
      renderRow(items[i], i, {
        position: 'absolute',
        top: i * rowHeight,
        height: rowHeight,
        left: 0,
        right: 0
      })
    );
  }

  return (
    <div
      ref={ref}
      className={`wp5-windowed-list ${props.className ?? ''}`}
      onScroll={e => setScrollTop(e.currentTarget.scrollTop)}
      role="list"
    >
      <div
        className="wp5-windowed-list-inner"
        style={{ position: 'relative', height: items.length * rowHeight }}
      >
        {rows}
      </div>
    </div>
  );
}
