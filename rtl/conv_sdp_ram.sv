// SPDX-License-Identifier: Apache-2.0
// Simple dual-port RAM with per-slice write enables and a registered read, for block-RAM mapping.

`default_nettype none

module conv_sdp_ram #(
  parameter int Width  = 8,   // bits per word, >= 1
  parameter int Depth  = 16,  // words, >= 2
  parameter int Slices = 1,   // independently written slices per word; must divide Width
  localparam int AddrW = $clog2(Depth),
  localparam int SliceW = Width / Slices
) (
  input  wire logic              clk_i,
  // Write port
  input  wire logic [Slices-1:0] we_i,     // one enable per slice of SliceW bits
  input  wire logic [AddrW-1:0]  waddr_i,
  input  wire logic [Width-1:0]  wdata_i,
  // Read port; rdata_o holds the word read in the last cycle with re_i high
  input  wire logic              re_i,
  input  wire logic [AddrW-1:0]  raddr_i,
  output logic      [Width-1:0]  rdata_o
);

  // A read of the word written in the same cycle returns the old word; users never rely on it.
  logic [Width-1:0] mem_q [Depth];

  if (Slices == 1) begin : g_word
    always_ff @(posedge clk_i) begin
      if (we_i[0]) mem_q[waddr_i] <= wdata_i;
    end
  end else begin : g_slices
    always_ff @(posedge clk_i) begin
      if (|we_i) begin
        for (int s = 0; s < Slices; s++) begin
          if (we_i[s]) mem_q[waddr_i][s*SliceW +: SliceW] <= wdata_i[s*SliceW +: SliceW];
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (re_i) rdata_o <= mem_q[raddr_i];
  end

`ifndef SYNTHESIS
  initial begin
    if (Width < 1) $fatal(1, "conv_sdp_ram: Width must be >= 1, got %0d", Width);
    if (Depth < 2) $fatal(1, "conv_sdp_ram: Depth must be >= 2, got %0d", Depth);
    if (Slices < 1 || Width % Slices != 0) begin
      $fatal(1, "conv_sdp_ram: Slices (%0d) must divide Width (%0d)", Slices, Width);
    end
  end

  // The RAM has no reset, so its users' control is unknown until their first reset edge; an
  // unknown address is left to the checks downstream (unknown data reaches the scoreboards).
  always @(posedge clk_i) begin
    if (we_i != '0 && !$isunknown(waddr_i)) begin
      assert (32'(waddr_i) < $unsigned(Depth))
        else $fatal(1, "conv_sdp_ram: write address %0d", waddr_i);
    end
    if (re_i === 1'b1 && !$isunknown(raddr_i)) begin
      assert (32'(raddr_i) < $unsigned(Depth))
        else $fatal(1, "conv_sdp_ram: read address %0d", raddr_i);
    end
  end
`endif

endmodule : conv_sdp_ram

`default_nettype wire
