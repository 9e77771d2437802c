// SPDX-License-Identifier: Apache-2.0
// Elastic valid/ready FIFO with a registered output stage that decouples two pipeline stages.

`default_nettype none

module elastic_fifo #(
  parameter int Width = 8,  // payload bits, >= 1
  parameter int Depth = 4,  // capacity in entries, >= 2
  localparam int LevelW = $clog2(Depth + 1),
  localparam int PtrW = (Depth > 2) ? $clog2(Depth - 1) : 1
) (
  input  wire logic              clk_i,
  input  wire logic              rst_i,    // synchronous, active high; empties the FIFO
  // Write side
  input  wire logic              valid_i,
  output logic                   ready_o,
  input  wire logic [Width-1:0]  data_i,
  // Read side (valid_o and data_o come straight from flops)
  output logic                   valid_o,
  input  wire logic              ready_i,
  output logic      [Width-1:0]  data_o,
  // Status
  output logic      [LevelW-1:0] level_o,  // entries held, 0 .. Depth
  output logic                   full_o,
  output logic                   empty_o
);

  // The head entry lives in the output register; the other Depth-1 entries live in a circular
  // buffer behind it. A write into an empty FIFO goes straight to the output register, so the
  // latency is one cycle and a steady stream passes at one entry per cycle.
  localparam int BufDepth = Depth - 1;
  localparam logic [PtrW-1:0]   LastPtr = PtrW'(BufDepth - 1);
  localparam logic [LevelW-1:0] FullLevel = LevelW'(Depth);

  logic [Width-1:0]  buf_q [BufDepth];
  logic [PtrW-1:0]   wr_ptr_q, rd_ptr_q;
  logic [LevelW-1:0] buf_cnt_q;   // entries in the circular buffer
  logic              out_valid_q;
  logic [Width-1:0]  out_data_q;
  logic              full_q;

  logic push, pop, load_out, from_buf, to_buf;

  assign push = valid_i & ready_o;
  assign pop  = valid_o & ready_i;

  // The output register is (re)loaded when it is empty or being drained this cycle.
  assign load_out = ~out_valid_q | pop;
  assign from_buf = load_out & (buf_cnt_q != '0);
  assign to_buf   = push & ~(load_out & (buf_cnt_q == '0));

  function automatic logic [PtrW-1:0] next_ptr(input logic [PtrW-1:0] p);
    return (p == LastPtr) ? '0 : p + 1'b1;
  endfunction

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      out_valid_q <= 1'b0;
      wr_ptr_q    <= '0;
      rd_ptr_q    <= '0;
      buf_cnt_q   <= '0;
      full_q      <= 1'b0;
    end else begin
      if (load_out) begin
        out_valid_q <= from_buf | push;
      end
      if (to_buf) begin
        wr_ptr_q <= next_ptr(wr_ptr_q);
      end
      if (from_buf) begin
        rd_ptr_q <= next_ptr(rd_ptr_q);
      end
      buf_cnt_q <= buf_cnt_q + LevelW'(to_buf) - LevelW'(from_buf);
      // Full next cycle when the total level reaches Depth.
      full_q <= (level_o + LevelW'(push) - LevelW'(pop)) == FullLevel;
    end
  end

  // Payload registers carry no reset: they are always written before they are read.
  always_ff @(posedge clk_i) begin
    if (to_buf) begin
      buf_q[wr_ptr_q] <= data_i;
    end
    if (from_buf) begin
      out_data_q <= buf_q[rd_ptr_q];
    end else if (load_out && push) begin
      out_data_q <= data_i;
    end
  end

  assign valid_o = out_valid_q;
  assign data_o  = out_data_q;
  assign ready_o = ~full_q;
  assign level_o = buf_cnt_q + LevelW'(out_valid_q);
  assign full_o  = full_q;
  assign empty_o = ~out_valid_q;

`ifndef SYNTHESIS
  initial begin
    if (Width < 1) $fatal(1, "elastic_fifo: Width must be >= 1, got %0d", Width);
    if (Depth < 2) $fatal(1, "elastic_fifo: Depth must be >= 2, got %0d", Depth);
  end

  // Plain always: Icarus warns about system tasks inside always_ff.
  always @(posedge clk_i) begin
    if (!rst_i) begin
      assert (!(push && level_o == FullLevel))
        else $fatal(1, "elastic_fifo: write while full (overflow)");
      assert (!(pop && level_o == '0))
        else $fatal(1, "elastic_fifo: read while empty (underflow)");
      assert (level_o <= FullLevel)
        else $fatal(1, "elastic_fifo: level %0d above depth %0d", level_o, Depth);
      assert (full_q == (level_o == FullLevel))
        else $fatal(1, "elastic_fifo: full flag disagrees with level %0d", level_o);
      assert (!(buf_cnt_q != '0 && !out_valid_q))
        else $fatal(1, "elastic_fifo: buffered entries behind an empty output register");
    end
  end
`endif

endmodule : elastic_fifo

`default_nettype wire
